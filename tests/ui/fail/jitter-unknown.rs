use resilience::retry;

#[retry(jitter = partial)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

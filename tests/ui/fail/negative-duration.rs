use resilience::retry;

#[retry(delay = -1.5)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

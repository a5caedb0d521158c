use resilience::retry;

#[retry(backoff = linear, factor = 3.0)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::retry;

#[retry(backoff = exponential, factor = 1.0)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::retry;

#[retry(attempts = 3, retry_after_jitter = "10%")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

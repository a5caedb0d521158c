use resilience::retry;

#[retry(backoff = quadratic)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

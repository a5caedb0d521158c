use resilience::retry;

#[retry(delay = "10 parsecs")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

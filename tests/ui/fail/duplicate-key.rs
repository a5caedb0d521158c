use resilience::retry;

#[retry(attempts = 2, delay = "1s", attempts = 5)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

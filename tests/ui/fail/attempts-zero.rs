use resilience::retry;

#[retry(attempts = 0)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

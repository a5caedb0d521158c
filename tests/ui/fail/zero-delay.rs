use resilience::retry;

#[retry(delay = "0ms")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::retry;

#[retry(max_delay = "ms")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

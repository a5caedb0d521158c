use resilience::retry;

// The default first delay is 100ms.
#[retry(max_delay = "50ms")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

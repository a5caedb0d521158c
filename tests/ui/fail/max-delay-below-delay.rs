use resilience::retry;

#[retry(delay = "1s", max_delay = "500ms")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::retry;

#[retry(delay = "250")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

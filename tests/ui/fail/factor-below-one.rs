use resilience::retry;

#[retry(factor = 0.5)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

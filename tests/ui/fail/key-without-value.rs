use resilience::retry;

#[retry(attempts)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

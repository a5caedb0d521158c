use resilience::retry;

#[retry(3)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

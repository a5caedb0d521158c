use resilience::retry;

#[retry(tries = 3)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

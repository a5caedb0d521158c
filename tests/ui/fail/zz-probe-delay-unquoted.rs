use resilience::retry;

#[retry(delay = 100ms)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

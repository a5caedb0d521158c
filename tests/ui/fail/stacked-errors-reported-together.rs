use resilience::{retry, timeout};

#[retry(attempts = 0, backoff = quadratic)]
#[timeout("0s")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

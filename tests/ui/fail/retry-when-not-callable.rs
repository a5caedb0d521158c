use resilience::retry;

#[retry(when = "is_transient")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

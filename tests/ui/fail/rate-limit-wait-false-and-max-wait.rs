use resilience::rate_limit;

#[rate_limit(per_second = 10, wait = false, max_wait = "1s")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

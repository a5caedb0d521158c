use resilience::rate_limit;

#[rate_limit(per_second = 10, wait = "2s")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

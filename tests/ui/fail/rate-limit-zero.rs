use resilience::rate_limit;

#[rate_limit(per_second = 0)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

#[rate_limit(per_second = 10, burst = 0)]
async fn tell() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

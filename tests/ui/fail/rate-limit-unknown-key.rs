use resilience::rate_limit;

#[rate_limit(per_day = 1000)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

#[rate_limit(rate = 10)]
async fn tell() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

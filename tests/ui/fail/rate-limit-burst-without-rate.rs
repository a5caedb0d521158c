use resilience::rate_limit;

#[rate_limit(burst = 5)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

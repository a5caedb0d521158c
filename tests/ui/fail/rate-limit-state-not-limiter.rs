use resilience::rate_limit;

static LIMIT: u32 = 10;

#[rate_limit(state = LIMIT)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

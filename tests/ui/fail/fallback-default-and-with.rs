use resilience::fallback;

async fn backup(_: String) -> Result<u32, String> {
    Ok(0)
}

#[fallback(default = 0, with = backup)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

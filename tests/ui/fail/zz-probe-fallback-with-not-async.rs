use resilience::fallback;

fn backup(_: String) -> Result<u32, String> {
    Ok(0)
}

#[fallback(with = backup)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

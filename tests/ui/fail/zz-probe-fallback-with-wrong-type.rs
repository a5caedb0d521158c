use resilience::fallback;

async fn backup(_: String) -> Result<String, String> {
    Ok(String::new())
}

#[fallback(with = backup)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::fallback;

#[fallback(value = 0)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

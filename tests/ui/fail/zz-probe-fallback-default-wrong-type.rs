use resilience::fallback;

#[fallback(default = "none")]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

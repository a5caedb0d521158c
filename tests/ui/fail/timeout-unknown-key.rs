use resilience::timeout;

#[timeout(minutes = 1)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

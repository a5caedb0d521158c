use resilience::compensate;

#[compensate]
async fn create() -> Result<u32, String> {
    Ok(7)
}

fn main() {}

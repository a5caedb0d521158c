use resilience::compensate;

#[compensate(with = "delete")]
async fn create() -> Result<u32, String> {
    Ok(7)
}

fn main() {}

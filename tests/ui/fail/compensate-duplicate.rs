use resilience::compensate;

async fn delete(_id: u32) -> Result<(), String> {
    Ok(())
}

#[compensate(with = delete)]
#[compensate(with = delete)]
async fn create() -> Result<u32, String> {
    Ok(7)
}

fn main() {}

use resilience::timeout;

#[timeout("1s")]
async fn ask<E>() -> Result<u32, E> {
    Ok(1)
}

fn main() {}

use resilience::fallback;

fn is_transient(_: &String) -> bool {
    true
}

#[fallback(when = is_transient)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

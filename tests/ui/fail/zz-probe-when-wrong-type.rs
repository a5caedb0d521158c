use resilience::retry;

fn is_transient(_: &u32) -> bool {
    true
}

#[retry(when = is_transient)]
async fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

use resilience::retry;

#[retry]
fn ask() -> Result<u32, String> {
    Ok(1)
}

fn main() {}

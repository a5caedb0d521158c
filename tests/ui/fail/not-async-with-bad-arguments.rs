use resilience::retry;

#[retry(attempts = 0)]
fn ask() -> u32 {
    1
}

fn main() {}

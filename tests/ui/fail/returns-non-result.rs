use resilience::retry;

#[retry]
async fn ask() -> u32 {
    1
}

fn main() {}

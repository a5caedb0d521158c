use resilience::retry;

#[retry]
async fn ask() {}

fn main() {}

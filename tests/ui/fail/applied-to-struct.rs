use resilience::retry;

#[retry(attempts = 3)]
struct Agent;

fn main() {}

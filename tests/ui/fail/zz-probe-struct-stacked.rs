use resilience::{retry, timeout};

#[retry(attempts = 3)]
#[timeout("1s")]
struct Agent;

fn main() {}

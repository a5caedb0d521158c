// One error for the stack, not one per attribute.
use resilience::{retry, timeout};

#[retry(attempts = 3)]
#[timeout("1s")]
struct Agent;

fn main() {}

// The error type needs neither `Display` nor `Debug`.
use resilience::{fallback, retry};

struct Opaque;

#[fallback(default = 7)]
#[retry(attempts = 2, backoff = linear, delay = "1ms")]
async fn ask() -> Result<u32, Opaque> {
    Err(Opaque)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(matches!(ask().await, Ok(7)));
}

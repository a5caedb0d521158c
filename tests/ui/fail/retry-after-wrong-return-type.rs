// `retry_after` takes `fn(&E) -> Option<Duration>`: a fn that returns a
// `Duration` or an `Option<u64>` is refused at the user's path.
use std::time::Duration;

use resilience::retry;

#[derive(Debug, thiserror::Error)]
#[error("busy")]
struct Busy;

fn always(_: &Busy) -> Duration {
    Duration::from_secs(1)
}

fn millis(_: &Busy) -> Option<u64> {
    Some(100)
}

#[retry(retry_after = always)]
async fn ask() -> Result<u32, Busy> {
    Err(Busy)
}

#[retry(retry_after = millis)]
async fn think() -> Result<u32, Busy> {
    Err(Busy)
}

#[retry(retry_after = |_: &Busy| Some(100))]
async fn plan() -> Result<u32, Busy> {
    Err(Busy)
}

fn main() {}

//! A decorated future is no larger than the same logic written by hand,
//! measured in the same build.

use std::mem::size_of_val;
use std::time::Duration;

use resilience::{Elapsed, fallback, retry, timeout};

#[derive(Debug)]
enum Error {
    Timeout(#[allow(dead_code)] Elapsed),
    Failed,
}

impl From<Elapsed> for Error {
    fn from(e: Elapsed) -> Self {
        Error::Timeout(e)
    }
}

async fn work(x: &u64) -> Result<u64, Error> {
    tokio::task::yield_now().await;
    if *x == 0 { Err(Error::Failed) } else { Ok(*x) }
}

#[retry(attempts = 3)]
async fn decorated_retry(x: &u64) -> Result<u64, Error> {
    work(x).await
}

async fn hand_retry(x: &u64) -> Result<u64, Error> {
    let mut attempt = 1u32;
    loop {
        match work(x).await {
            Ok(v) => return Ok(v),
            Err(e) => {
                if attempt >= 3 {
                    return Err(e);
                }
                let delay =
                    Duration::from_millis(100).saturating_mul(2u32.saturating_pow(attempt - 1));
                attempt += 1;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[timeout("30s")]
async fn decorated_timeout(x: &u64) -> Result<u64, Error> {
    work(x).await
}

async fn hand_timeout(x: &u64) -> Result<u64, Error> {
    match tokio::time::timeout(Duration::from_secs(30), work(x)).await {
        Ok(r) => r,
        Err(_) => Err(Elapsed::new("hand_timeout", Duration::from_secs(30)).into()),
    }
}

#[retry(attempts = 3)]
#[timeout("30s")]
async fn decorated_retry_timeout(x: &u64) -> Result<u64, Error> {
    work(x).await
}

async fn hand_retry_timeout(x: &u64) -> Result<u64, Error> {
    let mut attempt = 1u32;
    loop {
        let result = match tokio::time::timeout(Duration::from_secs(30), work(x)).await {
            Ok(r) => r,
            Err(_) => Err(Elapsed::new("hand", Duration::from_secs(30)).into()),
        };
        match result {
            Ok(v) => return Ok(v),
            Err(e) => {
                if attempt >= 3 {
                    return Err(e);
                }
                let delay =
                    Duration::from_millis(100).saturating_mul(2u32.saturating_pow(attempt - 1));
                attempt += 1;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[fallback(default = 0)]
#[retry(attempts = 3)]
#[timeout("30s")]
async fn decorated_full(x: &u64) -> Result<u64, Error> {
    work(x).await
}

async fn hand_full(x: &u64) -> Result<u64, Error> {
    match hand_retry_timeout(x).await {
        Ok(v) => Ok(v),
        Err(_) => Ok(0),
    }
}

/// A body that can leave early (`?`) runs in an `async` block, as it must by hand too.
#[retry(attempts = 3)]
#[timeout("30s")]
async fn decorated_early_exit(x: &u64) -> Result<u64, Error> {
    let v = work(x).await?;
    Ok(v + 1)
}

async fn hand_early_exit(x: &u64) -> Result<u64, Error> {
    let mut attempt = 1u32;
    loop {
        let attempt_future = async {
            let v = work(x).await?;
            Ok(v + 1)
        };
        let result = match tokio::time::timeout(Duration::from_secs(30), attempt_future).await {
            Ok(r) => r,
            Err(_) => Err(Elapsed::new("hand", Duration::from_secs(30)).into()),
        };
        match result {
            Ok(v) => return Ok(v),
            Err(e) => {
                if attempt >= 3 {
                    return Err(e);
                }
                let delay =
                    Duration::from_millis(100).saturating_mul(2u32.saturating_pow(attempt - 1));
                attempt += 1;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[test]
fn decorated_futures_are_no_larger_than_hand_written() {
    let x = 1;
    let pairs = [
        (
            "retry",
            size_of_val(&decorated_retry(&x)),
            size_of_val(&hand_retry(&x)),
        ),
        (
            "timeout",
            size_of_val(&decorated_timeout(&x)),
            size_of_val(&hand_timeout(&x)),
        ),
        (
            "retry+timeout",
            size_of_val(&decorated_retry_timeout(&x)),
            size_of_val(&hand_retry_timeout(&x)),
        ),
        (
            "fallback+retry+timeout",
            size_of_val(&decorated_full(&x)),
            size_of_val(&hand_full(&x)),
        ),
        (
            "retry+timeout, body with `?`",
            size_of_val(&decorated_early_exit(&x)),
            size_of_val(&hand_early_exit(&x)),
        ),
    ];
    for (name, ours, hand) in pairs {
        println!("{name}: decorated {ours} bytes, hand-written {hand} bytes");
        assert!(
            ours <= hand,
            "{name}: decorated future is {ours} bytes, hand-written {hand}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_compared_futures_do_the_same_work() {
    for x in [0, 7] {
        let ours = decorated_full(&x).await.unwrap();
        let hand = hand_full(&x).await.unwrap();
        assert_eq!(ours, hand);
        assert_eq!(
            decorated_retry(&x).await.is_ok(),
            hand_retry(&x).await.is_ok()
        );
        assert_eq!(
            decorated_timeout(&x).await.is_ok(),
            hand_timeout(&x).await.is_ok()
        );
        assert_eq!(
            decorated_early_exit(&x).await.ok(),
            hand_early_exit(&x).await.ok()
        );
    }
}

/// A `workflow!` without `#[compensate]` is a line of awaits: its `run()`
/// future is no larger than the same steps written by hand.
mod workflow_size {
    use std::mem::size_of_val;

    use resilience::workflow;

    use super::{Error, work};

    workflow! {
        workflow Three(seed: u64) -> Result<u64, Error> {
            step a: u64 = work(seed).await;
            step b: u64 = work(a).await;
            step c: u64 = work(b).await;
            a + b + c
        }
    }

    async fn by_hand(seed: u64) -> Result<u64, Error> {
        let a = work(&seed).await?;
        let b = work(&a).await?;
        let c = work(&b).await?;
        Ok(a + b + c)
    }

    #[test]
    fn a_workflow_without_compensation_is_no_larger_than_by_hand() {
        let (ours, hand) = (size_of_val(&Three::new(1).run()), size_of_val(&by_hand(1)));
        println!("workflow: {ours} bytes, hand-written {hand} bytes");
        assert!(ours <= hand, "workflow future {ours} bytes, by hand {hand}");
    }

    #[tokio::test(start_paused = true)]
    async fn they_do_the_same_work() {
        assert_eq!(Three::new(2).run().await.ok(), by_hand(2).await.ok());
        let error = Three::new(0).run().await.unwrap_err();
        assert_eq!(error.failed_step(), Some("a"));
        assert!(by_hand(0).await.is_err());
    }
}

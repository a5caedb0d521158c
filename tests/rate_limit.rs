//! `#[rate_limit]` and `retry_after_jitter` on tokio's paused clock: every
//! instant is stated exactly, randomness is seeded.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use resilience::events::Scope;
use resilience::{
    Elapsed, OwnedEventKind, RateLimit, RateLimited, RateLimiter, fallback, rate_limit, retry,
    timeout,
};
use tokio::time::Instant;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("busy, retry after {0:?}")]
    Busy(Duration),
    #[error("failed")]
    Failed,
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

impl ApiError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Busy(after) => Some(*after),
            ApiError::RateLimited(refused) => Some(refused.retry_in()),
            _ => None,
        }
    }
}

/// The instants (since `start`) at which each of `n` concurrent calls of
/// `call` ran its body, in the order the calls were made.
async fn at_once<F, Fut>(n: usize, call: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Instant, ApiError>>,
{
    let start = Instant::now();
    join_all((0..n).map(|_| call()))
        .await
        .into_iter()
        .map(|r| r.unwrap() - start)
        .collect()
}

#[rate_limit(per_second = 10, burst = 2)]
async fn ten_per_second() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn calls_wait_for_their_slot_after_the_burst() {
    let got = at_once(5, ten_per_second).await;
    assert_eq!(got, [0, 0, 100, 200, 300].map(MS));
}

#[rate_limit(per_minute = 60, wait = false)]
async fn refuse_at_once() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn wait_false_refuses_with_the_error_type_and_the_body_does_not_run() {
    // Burst 60 (the count per minute), then one a second.
    for _ in 0..60 {
        refuse_at_once().await.unwrap();
    }
    let refused = refuse_at_once().await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`refuse_at_once` rate limited: the next permit is 1s away"
    );
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(1)));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(refuse_at_once().await.is_ok());
}

#[rate_limit(per_second = 10, burst = 1, max_wait = "150ms")]
async fn bounded_wait() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn max_wait_waits_within_the_bound_and_refuses_beyond() {
    let start = Instant::now();
    let results = join_all((0..4).map(|_| bounded_wait())).await;
    let at: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map(|t| *t - start).map_err(|e| e.to_string()))
        .collect();
    assert_eq!(
        at,
        [
            Ok(MS(0)),
            Ok(MS(100)),
            Err(
                "`bounded_wait` rate limited: the next permit is 200ms away (waits at most 150ms)"
                    .into()
            ),
            Err(
                "`bounded_wait` rate limited: the next permit is 200ms away (waits at most 150ms)"
                    .into()
            ),
        ]
    );
}

/// Each attempt takes a permit: the limit is on calls to the API.
#[retry(attempts = 3, delay = "10ms")]
#[rate_limit(per_second = 2, burst = 1)]
async fn retry_over_limit(
    calls: &std::sync::Mutex<Vec<Duration>>,
    start: Instant,
) -> Result<(), ApiError> {
    calls.lock().unwrap().push(start.elapsed());
    Err(ApiError::Failed)
}

/// One permit for the whole retried call.
#[rate_limit(per_second = 2, burst = 1)]
#[retry(attempts = 3, delay = "10ms")]
async fn limit_over_retry(
    calls: &std::sync::Mutex<Vec<Duration>>,
    start: Instant,
) -> Result<(), ApiError> {
    calls.lock().unwrap().push(start.elapsed());
    Err(ApiError::Failed)
}

#[tokio::test(start_paused = true)]
async fn stacking_follows_the_written_order() {
    let calls = std::sync::Mutex::new(Vec::new());
    let start = Instant::now();
    assert_eq!(retry_over_limit(&calls, start).await, Err(ApiError::Failed));
    // Attempt 1 at 0; attempt 2 after 10ms waits for the 500ms slot; attempt 3 after 20ms for 1000ms.
    assert_eq!(*calls.lock().unwrap(), [0, 500, 1000].map(MS));

    let calls = std::sync::Mutex::new(Vec::new());
    let start = Instant::now();
    assert_eq!(limit_over_retry(&calls, start).await, Err(ApiError::Failed));
    assert_eq!(limit_over_retry(&calls, start).await, Err(ApiError::Failed));
    // Three attempts on one permit; the second call waits for the next slot.
    assert_eq!(*calls.lock().unwrap(), [0, 10, 30, 500, 510, 530].map(MS));
}

#[timeout("50ms")]
#[rate_limit(per_second = 1, burst = 1)]
async fn timeout_over_limit() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_bounds_the_wait_and_the_slot_is_given_back() {
    let start = Instant::now();
    timeout_over_limit().await.unwrap();
    let err = timeout_over_limit().await.unwrap_err();
    assert_eq!(err.to_string(), "`timeout_over_limit` timed out after 50ms");
    assert_eq!(start.elapsed(), MS(50));
    // The timed-out call's slot (at 1s) was given back: the next call takes it.
    tokio::time::advance(MS(950)).await;
    assert_eq!(
        timeout_over_limit().await.unwrap() - start,
        Duration::from_secs(1)
    );
}

#[fallback(default = 0)]
#[rate_limit(per_second = 1, wait = false)]
async fn fallback_over_limit(n: u32) -> Result<u32, ApiError> {
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn a_fallback_above_catches_the_refusal() {
    assert_eq!(fallback_over_limit(7).await, Ok(7));
    assert_eq!(fallback_over_limit(8).await, Ok(0));
}

#[retry(attempts = 2, retry_after = ApiError::retry_after)]
#[rate_limit(per_second = 4, burst = 1, wait = false)]
async fn retry_after_refusal() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn a_retry_above_waits_as_long_as_the_refusal_says() {
    let start = Instant::now();
    retry_after_refusal().await.unwrap();
    assert_eq!(retry_after_refusal().await.unwrap() - start, MS(250));
}

static SHARED: RateLimiter = RateLimiter::new(RateLimit::per_second(10).with_burst(1));

#[rate_limit(state = SHARED)]
async fn shared_a() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[rate_limit(state = SHARED)]
async fn shared_b() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn a_shared_limiter_spaces_every_fn_that_names_it() {
    let start = Instant::now();
    let (a1, b1, a2, b2) = tokio::join!(shared_a(), shared_b(), shared_a(), shared_b());
    let at: Vec<_> = [a1, b1, a2, b2].map(|r| r.unwrap() - start).into();
    assert_eq!(at, [0, 100, 200, 300].map(MS));
}

struct Agent {
    limiter: RateLimiter,
    shared: Arc<RateLimiter>,
    calls: u32,
}

impl Agent {
    #[rate_limit(state = self.limiter)]
    async fn own(&self) -> Result<Instant, ApiError> {
        Ok(Instant::now())
    }

    #[rate_limit(state = self.shared, max_wait = "1s")]
    async fn counted(&mut self) -> Result<u32, ApiError> {
        self.calls += 1;
        Ok(self.calls)
    }
}

#[tokio::test(start_paused = true)]
async fn a_limiter_per_agent_and_mut_self() {
    let shared = Arc::new(RateLimiter::new(RateLimit::per_second(2).with_burst(1)));
    let a = Agent {
        limiter: RateLimiter::new(RateLimit::per_second(10).with_burst(1)),
        shared: shared.clone(),
        calls: 0,
    };
    let b = Agent {
        limiter: RateLimiter::new(RateLimit::per_second(10).with_burst(1)),
        shared: shared.clone(),
        calls: 0,
    };
    let start = Instant::now();
    let (a1, b1, a2) = tokio::join!(a.own(), b.own(), a.own());
    // Each agent its own limiter: b is not held up by a.
    assert_eq!(
        [a1, b1, a2].map(|r| r.unwrap() - start),
        [MS(0), MS(0), MS(100)]
    );

    let (mut a, mut b) = (a, b);
    let start = Instant::now();
    assert_eq!(a.counted().await, Ok(1));
    assert_eq!(b.counted().await, Ok(1));
    assert_eq!(a.counted().await, Ok(2));
    // Both share one limiter of 2 per second.
    assert_eq!(start.elapsed(), MS(1000));
}

/// Its own hidden limiter: no other test calls it.
#[rate_limit(per_second = 10, burst = 1, max_wait = "150ms")]
async fn evented() -> Result<Instant, ApiError> {
    Ok(Instant::now())
}

#[tokio::test(start_paused = true)]
async fn waits_and_refusals_are_events_named_after_the_fn() {
    let scope = Scope::new();
    let mut events = scope.subscribe();
    scope
        .run(async {
            join_all((0..4).map(|_| evented())).await;
        })
        .await;
    let seen: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .map(|e| (e.operation.clone(), e.kind))
        .collect();
    let op = || "evented".to_string();
    assert_eq!(
        seen,
        [
            (op(), OwnedEventKind::RateLimitWait { wait: MS(100) }),
            (
                op(),
                OwnedEventKind::RateLimitRejected { retry_in: MS(200) }
            ),
            (
                op(),
                OwnedEventKind::RateLimitRejected { retry_in: MS(200) }
            ),
        ]
    );
}

/// The server says "1 s" to every one of 200 concurrent calls.
#[retry(attempts = 2, retry_after = ApiError::retry_after, retry_after_jitter = "10%")]
async fn told_one_second(first: &std::sync::atomic::AtomicBool) -> Result<Instant, ApiError> {
    if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::Busy(Duration::from_secs(1)));
    }
    Ok(Instant::now())
}

async fn two_hundred_told_one_second() -> Vec<Duration> {
    let flags: Vec<_> = (0..200)
        .map(|_| std::sync::atomic::AtomicBool::new(true))
        .collect();
    let start = Instant::now();
    let mut at: Vec<_> = join_all(flags.iter().map(told_one_second))
        .await
        .into_iter()
        .map(|r| r.unwrap() - start)
        .collect();
    at.sort();
    at
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_clients_told_the_same_delay() {
    let at = resilience::random::with_seed(200, two_hundred_told_one_second()).await;
    let again = resilience::random::with_seed(200, two_hundred_told_one_second()).await;
    assert_eq!(at, again, "the same seed, the same instants");
    // Never before the server's 1s, at most 10% after it.
    assert!(
        at.iter().all(|t| (MS(1000)..=MS(1100)).contains(t)),
        "{at:?}"
    );
    assert!(at[199] - at[0] >= MS(90));
    // No 5ms window holds more than 20 of the 200 (without jitter: all 200).
    for w in at.windows(21) {
        assert!(w[20] - w[0] >= MS(5), "21 calls within {:?}", w[20] - w[0]);
    }
}

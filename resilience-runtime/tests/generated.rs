//! The code the macros generate, written out by hand against
//! `::resilience::__private` (whose contract is documented in
//! `resilience-runtime/src/rt/mod.rs`), so that the runtime's side of the
//! contract is checked without the macro crate.

extern crate resilience_runtime as resilience;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience::events::{OwnedEventKind, Scope};
use resilience::{Elapsed, GiveUpReason};

#[derive(Debug, PartialEq)]
enum AgentError {
    Timeout(Elapsed),
    Refused(String),
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(e) => e.fmt(f),
            Self::Refused(why) => write!(f, "model refused: {why}"),
        }
    }
}

impl From<Elapsed> for AgentError {
    fn from(e: Elapsed) -> Self {
        Self::Timeout(e)
    }
}

fn is_refusal(e: &AgentError) -> bool {
    matches!(e, AgentError::Refused(_))
}

fn no_retry_after(_: &AgentError) -> Option<Duration> {
    None
}

struct Model {
    calls: AtomicU32,
    succeed_on: u32,
    think: Duration,
}

impl Model {
    async fn answer(&self, prompt: String) -> Result<String, AgentError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        ::resilience::__private::sleep(self.think).await;
        if n >= self.succeed_on {
            Ok(format!("answer {n} to {prompt}"))
        } else {
            Err(AgentError::Refused(format!("try {n}")))
        }
    }
}

/// `#[retry(attempts = 3, backoff = exponential, delay = "100ms", max_delay = "10s", max_elapsed = "1m", when = is_refusal, retry_after = no_retry_after)]`
/// `#[timeout(ms = 500)]`
async fn ask(model: &Model, prompt: String) -> Result<String, AgentError> {
    {
        const __RESILIENCE_RETRY: ::resilience::__private::RetryPolicy =
            ::resilience::__private::RetryPolicy::new("ask")
                .with_attempts(3)
                .with_backoff(
                    ::resilience::__private::Backoff::exponential(
                        ::resilience::__private::Duration::from_nanos(100_000_000),
                    )
                    .with_factor(2.0)
                    .with_max_delay(::resilience::__private::Duration::from_nanos(
                        10_000_000_000,
                    ))
                    .with_jitter(::resilience::__private::Jitter::None),
                )
                .with_max_elapsed(::resilience::__private::Duration::from_nanos(
                    60_000_000_000,
                ));
        let __resilience_started = ::resilience::__private::Instant::now();
        let mut __resilience_retry = ::resilience::__private::RetryState::new();
        loop {
            let __resilience_result: Result<String, AgentError> = {
                let prompt = ::resilience::__private::clone_arg(&prompt);
                {
                    const __RESILIENCE_TIMEOUT: ::resilience::__private::TimeoutPolicy =
                        ::resilience::__private::TimeoutPolicy::new(
                            "ask",
                            ::resilience::__private::Duration::from_nanos(500_000_000),
                        );
                    match ::resilience::__private::timeout(__RESILIENCE_TIMEOUT.limit(), async {
                        model.answer(prompt).await
                    })
                    .await
                    {
                        ::resilience::__private::Result::Ok(r) => r,
                        ::resilience::__private::Result::Err(_) => {
                            ::resilience::__private::Result::Err(
                                ::resilience::__private::timeout_error(
                                    __RESILIENCE_TIMEOUT.expire(),
                                ),
                            )
                        }
                    }
                }
            };
            match __resilience_result {
                ::resilience::__private::Result::Ok(v) => {
                    break ::resilience::__private::Result::Ok(v);
                }
                ::resilience::__private::Result::Err(e) => {
                    let __resilience_delay = __resilience_retry.next_delay(
                        &__RESILIENCE_RETRY,
                        is_refusal(&e),
                        no_retry_after(&e),
                        ::resilience::__private::Some(__resilience_started),
                        {
                            #[allow(unused_imports)]
                            use ::resilience::__private::{
                                ViaDebug as _, ViaDisplay as _, ViaOpaque as _,
                            };
                            (&&&::resilience::__private::ErrorProbe(&e)).error_ref()
                        },
                    );
                    match __resilience_delay {
                        ::resilience::__private::Some(d) => ::resilience::__private::sleep(d).await,
                        ::resilience::__private::None => {
                            break ::resilience::__private::Err(e);
                        }
                    }
                }
            }
        }
    }
}

/// `#[fallback(default = String::from("no answer"))]` around a generic fn
/// whose error is only known to be `Debug`.
async fn with_default<E: std::fmt::Debug>(
    result: impl std::future::Future<Output = Result<String, E>>,
) -> Result<String, E> {
    const __RESILIENCE_FALLBACK: ::resilience::__private::FallbackPolicy =
        ::resilience::__private::FallbackPolicy::new("with_default");
    let __resilience_result: Result<String, E> = result.await;
    match __resilience_result {
        ::resilience::__private::Ok(v) => ::resilience::__private::Ok(v),
        ::resilience::__private::Err(e) => {
            #[allow(clippy::needless_borrow)]
            __RESILIENCE_FALLBACK.fired({
                #[allow(unused_imports)]
                use ::resilience::__private::{ViaDebug as _, ViaDisplay as _, ViaOpaque as _};
                (&&&::resilience::__private::ErrorProbe(&e)).error_ref()
            });
            ::resilience::__private::Ok(String::from("no answer"))
        }
    }
}

fn model(succeed_on: u32, think: Duration) -> Model {
    Model {
        calls: AtomicU32::new(0),
        succeed_on,
        think,
    }
}

#[tokio::test(start_paused = true)]
async fn retries_with_exact_delays_then_succeeds() {
    let m = model(3, Duration::from_millis(10));
    let start = ::resilience::__private::Instant::now();
    let answer = ask(&m, "hello".into()).await;
    assert_eq!(answer, Ok("answer 3 to hello".to_owned()));
    // 3 calls of 10ms, and sleeps of 100ms and 200ms between them.
    assert_eq!(start.elapsed(), Duration::from_millis(330));
}

#[tokio::test(start_paused = true)]
async fn returns_the_last_error_unchanged() {
    let m = model(u32::MAX, Duration::ZERO);
    // A scope: other tests in this binary call `ask` at the same time, and
    // their events must not reach this one.
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let answer = scope.run(ask(&m, "hello".into())).await;
    assert_eq!(answer, Err(AgentError::Refused("try 3".into())));
    let kinds: Vec<_> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.len(), 3, "two retries and the give-up: {kinds:?}");
    assert_eq!(
        kinds.last(),
        Some(&OwnedEventKind::GaveUp {
            attempts: 3,
            reason: GiveUpReason::Exhausted,
            error: "model refused: try 3".into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_not_retried_here() {
    // `when = is_refusal` rejects timeouts: one attempt, then the error.
    let m = model(1, Duration::from_secs(5));
    let start = ::resilience::__private::Instant::now();
    let answer = ask(&m, "slow".into()).await;
    assert_eq!(
        answer,
        Err(AgentError::Timeout(Elapsed::new(
            "ask",
            Duration::from_millis(500)
        )))
    );
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    assert_eq!(
        answer.unwrap_err().to_string(),
        "`ask` timed out after 500ms"
    );
}

#[tokio::test]
async fn fallback_in_a_generic_fn_shows_the_debug_view() {
    #[derive(Debug)]
    struct Offline;
    let scope = Scope::new();
    let mut sub = scope.subscribe();
    let out = scope
        .run(with_default(async { Err::<String, _>(Offline) }))
        .await;
    assert_eq!(out.unwrap(), "no answer");
    let kinds: Vec<_> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [OwnedEventKind::Fallback {
            error: "Offline".into()
        }]
    );
}

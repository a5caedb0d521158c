//! Every fn shape of the contract works: free fns, `&self`, `&mut self`,
//! `self: Arc<Self>`, generics, lifetimes, `impl Trait`, native async fns in
//! traits, `#[async_trait]`, `?` and `return`, owned arguments cloned per attempt.

mod common;

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::AgentError;
use resilience::{fallback, retry, timeout};

/// Fails its first `fail` calls.
#[derive(Default)]
struct Counter {
    calls: u32,
    fail: u32,
}

impl Counter {
    #[retry(attempts = 3, backoff = constant, delay = "10ms")]
    #[timeout("1s")]
    async fn bump(&mut self, by: u32) -> Result<u32, AgentError> {
        self.calls += by;
        if self.calls <= self.fail {
            return Err(AgentError::Transient(self.calls));
        }
        Ok(self.calls)
    }

    #[retry(attempts = 3, backoff = constant, delay = "10ms")]
    async fn peek(&self, shared: &AtomicU32) -> Result<u32, AgentError> {
        let n = shared.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail {
            Err(AgentError::Transient(n))
        } else {
            Ok(n)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn mut_self_methods_retry_in_a_loop() {
    let mut counter = Counter { calls: 0, fail: 2 };
    assert_eq!(counter.bump(1).await, Ok(3));
    assert_eq!(counter.calls, 3);
    // The borrow ended: the counter is usable again.
    counter.fail = 100;
    assert_eq!(counter.bump(10).await, Err(AgentError::Transient(33)));
}

#[tokio::test(start_paused = true)]
async fn shared_self_methods() {
    let counter = Counter { calls: 0, fail: 1 };
    let shared = AtomicU32::new(0);
    assert_eq!(counter.peek(&shared).await, Ok(2));
}

struct Service {
    fail: u32,
    calls: AtomicU32,
}

impl Service {
    /// The body moves `self` into a spawned task: each attempt needs its own `Arc`.
    #[retry(attempts = 4, backoff = constant, delay = "5ms")]
    async fn spawn_work(self: Arc<Self>, tag: String) -> Result<String, AgentError> {
        let handle = tokio::spawn(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= self.fail {
                Err(AgentError::Transient(n))
            } else {
                Ok(format!("{tag}-{n}"))
            }
        });
        handle.await.expect("task panicked")
    }
}

#[tokio::test(start_paused = true)]
async fn arc_self_is_cloned_per_attempt() {
    let service = Arc::new(Service {
        fail: 2,
        calls: AtomicU32::new(0),
    });
    let result = Arc::clone(&service).spawn_work("job".into()).await;
    assert_eq!(result, Ok("job-3".into()));
    // Every per-attempt clone was dropped.
    assert_eq!(Arc::strong_count(&service), 1);
}

/// Each attempt sees the caller's value, not what the previous attempt did to it.
#[retry(attempts = 3, backoff = constant, delay = "1ms")]
async fn owned_args(
    mut items: Vec<u32>,
    (a, b): (u32, u32),
    seen: &std::sync::Mutex<Vec<usize>>,
) -> Result<u32, AgentError> {
    items.push(a + b);
    let len = items.len();
    let mut log = seen.lock().unwrap();
    log.push(len);
    if log.len() < 3 {
        return Err(AgentError::Transient(len as u32));
    }
    Ok(items.iter().sum())
}

#[tokio::test(start_paused = true)]
async fn owned_arguments_are_fresh_clones_each_attempt() {
    let seen = std::sync::Mutex::new(Vec::new());
    assert_eq!(owned_args(vec![1, 2], (3, 4), &seen).await, Ok(10));
    assert_eq!(*seen.lock().unwrap(), [3, 3, 3]);
}

/// Generics, a where clause, lifetimes and `impl Trait` arguments.
#[retry(attempts = 2, backoff = constant, delay = "1ms")]
async fn generic<'a, T, E>(
    items: &'a [T],
    label: impl AsRef<str> + Clone,
    shown: &impl Display,
    fail: fn(&T) -> Option<E>,
) -> Result<&'a T, E>
where
    T: PartialOrd,
{
    let _ = (label.as_ref(), shown.to_string());
    let max = items
        .iter()
        .fold(&items[0], |m, x| if x > m { x } else { m });
    if let Some(error) = fail(max) {
        return Err(error);
    }
    Ok(max)
}

#[tokio::test(start_paused = true)]
async fn generics_lifetimes_and_impl_trait() {
    let items = [3, 9, 4];
    let got = generic::<_, AgentError>(&items, "max", &1.5, |_| None).await;
    assert_eq!(got, Ok(&9));
    let got = generic(&items, String::from("max"), &"x", |&n| {
        Some(AgentError::Fatal(n))
    })
    .await;
    assert_eq!(got, Err(AgentError::Fatal(9)));
}

/// `?` inside the body leaves the attempt, and is retried.
#[retry(attempts = 3, backoff = constant, delay = "1ms")]
async fn question_mark(input: &str, tries: &AtomicU32) -> Result<i64, AgentError> {
    let n = tries.fetch_add(1, Ordering::SeqCst) + 1;
    let parsed: i64 = input.parse().map_err(|_| AgentError::Transient(n))?;
    if parsed < 0 {
        return Ok(0);
    }
    Ok(parsed * 2)
}

#[tokio::test(start_paused = true)]
async fn question_mark_and_return() {
    let tries = AtomicU32::new(0);
    assert_eq!(question_mark("21", &tries).await, Ok(42));
    assert_eq!(question_mark("-5", &tries).await, Ok(0));
    assert_eq!(
        question_mark("x", &tries).await,
        Err(AgentError::Transient(5))
    );
    assert_eq!(tries.load(Ordering::SeqCst), 5);
}

trait Agent {
    async fn answer(&self, prompt: &str) -> Result<String, AgentError>;

    /// A default method body can be decorated too.
    #[fallback(default = String::from("default"))]
    async fn answer_or_default(&self, prompt: &str) -> Result<String, AgentError> {
        self.answer(prompt).await
    }
}

struct Native(AtomicU32);

impl Agent for Native {
    #[retry(attempts = 3, backoff = constant, delay = "1ms")]
    async fn answer(&self, prompt: &str) -> Result<String, AgentError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        if n < 3 || prompt.is_empty() {
            Err(AgentError::Transient(n))
        } else {
            Ok(format!("{prompt}!"))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn native_async_fn_in_trait() {
    let agent = Native(AtomicU32::new(0));
    assert_eq!(agent.answer("hi").await, Ok("hi!".into()));
    assert_eq!(agent.answer_or_default("").await, Ok("default".into()));
}

#[async_trait::async_trait]
trait DynAgent: Send + Sync {
    async fn answer(&self, prompt: String) -> Result<String, AgentError>;
    async fn consume(self: Arc<Self>, prompt: String) -> Result<String, AgentError>;
}

struct Boxed(AtomicU32);

#[async_trait::async_trait]
impl DynAgent for Boxed {
    #[retry(attempts = 3, backoff = constant, delay = "1ms")]
    #[timeout("1s")]
    async fn answer(&self, prompt: String) -> Result<String, AgentError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        if n < 3 {
            return Err(AgentError::Transient(n));
        }
        Ok(prompt + "!")
    }

    #[retry(attempts = 2, backoff = constant, delay = "1ms")]
    async fn consume(self: Arc<Self>, prompt: String) -> Result<String, AgentError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        if n % 2 == 1 {
            Err(AgentError::Transient(n))
        } else {
            Ok(format!("{prompt}{n}"))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn async_trait_methods() {
    let agent: Arc<dyn DynAgent> = Arc::new(Boxed(AtomicU32::new(0)));
    assert_eq!(agent.answer("hi".into()).await, Ok("hi!".into()));
    assert_eq!(
        Arc::clone(&agent).consume("x".into()).await,
        Ok("x4".into())
    );
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(start_paused = true)]
async fn decorated_futures_stay_send() {
    let mut counter = Counter::default();
    assert_send(counter.bump(1)).await.unwrap();
    let service = Arc::new(Service {
        fail: 0,
        calls: AtomicU32::new(0),
    });
    assert_send(service.spawn_work("a".into())).await.unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    drop(assert_send(owned_args(vec![], (0, 0), &seen)));
    // And can be spawned.
    tokio::spawn(async {
        let mut counter = Counter::default();
        counter.bump(1).await
    })
    .await
    .unwrap()
    .unwrap();
}

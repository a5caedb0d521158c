//! `#[rate_limit]` on the shapes the other attributes take: generics, a
//! trait's native `async fn`, `#[async_trait]`, `&mut self`, an `Arc`
//! field, a workflow step, stacked with every call-level attribute.

use std::sync::Arc;
use std::time::Duration;

use resilience::{
    Elapsed, RateLimit, RateLimited, RateLimiter, fallback, rate_limit, retry, timeout, workflow,
};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

impl AgentError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            AgentError::RateLimited(refused) => Some(refused.retry_in()),
            _ => None,
        }
    }
}

static API: RateLimiter = RateLimiter::new(RateLimit::per_minute(500).with_burst(20));

#[rate_limit(per_hour = 3600)]
async fn generic<T: Clone + Send>(value: T) -> Result<T, AgentError> {
    Ok(value)
}

#[fallback(default = 0)]
#[retry(attempts = 3, retry_after = AgentError::retry_after, retry_after_jitter = "250ms")]
#[timeout("5s")]
#[rate_limit(state = API, max_wait = "1s")]
async fn stacked(n: u32) -> Result<u32, AgentError> {
    if n == 0 {
        return Err(AgentError::Busy);
    }
    Ok(n)
}

trait Agent {
    async fn ask(&self, prompt: &str) -> Result<String, AgentError>;
}

struct Model {
    limiter: Arc<RateLimiter>,
    calls: u32,
}

impl Agent for Model {
    #[rate_limit(state = self.limiter)]
    async fn ask(&self, prompt: &str) -> Result<String, AgentError> {
        Ok(prompt.to_owned())
    }
}

impl Model {
    #[rate_limit(state = self.limiter, wait = false)]
    async fn count(&mut self) -> Result<u32, AgentError> {
        self.calls += 1;
        Ok(self.calls)
    }
}

#[async_trait::async_trait]
trait Legacy {
    async fn legacy(&self) -> Result<u32, AgentError>;
}

#[async_trait::async_trait]
impl Legacy for Model {
    #[rate_limit(per_second = 5)]
    async fn legacy(&self) -> Result<u32, AgentError> {
        Ok(1)
    }
}

workflow! {
    workflow Twice(n: u32) -> Result<u32, AgentError> {
        #[rate_limit(per_second = 2, burst = 1)]
        step first: u32 = stacked(*n).await;
        #[rate_limit(state = API, wait = false)]
        step second: u32 = stacked(*first).await;
        second
    }
}

fn is_send<T: Send>(_: &T) {}

fn main() {
    let mut model = Model {
        limiter: Arc::new(RateLimiter::new(RateLimit::per_second(1))),
        calls: 0,
    };
    is_send(&generic(1));
    is_send(&stacked(1));
    is_send(&model.ask("hi"));
    is_send(&model.count());
    let _ = model.legacy();
    let _ = Twice::new(1).run();
}

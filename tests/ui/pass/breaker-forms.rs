//! Every form of `state` and `when`, on fns, methods and trait impls,
//! stacked with the other attributes; the futures are `Send`.

use std::sync::Arc;
use std::time::Duration;

use resilience::{
    BreakerPolicy, CircuitBreaker, CircuitOpen, Elapsed, circuit_breaker, fallback, retry, timeout,
};

static BREAKER: CircuitBreaker = CircuitBreaker::new(
    BreakerPolicy::failure_ratio(0.5)
        .with_min_throughput(20)
        .with_sampling(Duration::from_secs(10))
        .with_break(Duration::from_secs(30))
        .with_trials(3),
)
.with_name("search");

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Open(#[from] CircuitOpen),
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error("busy")]
    Busy,
}

fn is_transient(error: &AgentError) -> bool {
    matches!(error, AgentError::Busy | AgentError::Timeout(_))
}

#[circuit_breaker(state = BREAKER)]
async fn plain(x: u8) -> Result<u8, AgentError> {
    Ok(x)
}

#[resilience::circuit_breaker(state = crate::BREAKER, when = is_transient)]
async fn qualified(x: u8) -> Result<u8, AgentError> {
    Ok(x)
}

#[fallback(default = 0)]
#[circuit_breaker(state = BREAKER, when = |e: &AgentError| !matches!(e, AgentError::Open(_)))]
#[retry(attempts = 2)]
#[timeout("1s")]
async fn stacked(prompt: String) -> Result<usize, AgentError> {
    Ok(prompt.len())
}

// A `static` in `SCREAMING_CASE` is named through a type (the guard across
// the call holds no address); these go the other way and work as well.
static BY_REFERENCE: &CircuitBreaker = &BREAKER;
#[allow(non_upper_case_globals)]
static lowercase: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));

#[circuit_breaker(state = BY_REFERENCE)]
async fn by_reference(x: u8) -> Result<u8, AgentError> {
    Ok(x)
}

#[circuit_breaker(state = lowercase)]
async fn lowercase_static(x: u8) -> Result<u8, AgentError> {
    Ok(x)
}

// A parameter, whatever its case, is not a `static`.
#[allow(non_snake_case)]
#[circuit_breaker(state = SHARED)]
async fn parameter(SHARED: &CircuitBreaker, x: u8) -> Result<u8, AgentError> {
    Ok(x)
}

#[circuit_breaker(state = BREAKER)]
async fn generic_static<T: Send + 'static>(value: T) -> Result<T, AgentError> {
    static LOCAL: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(2));
    #[circuit_breaker(state = LOCAL)]
    async fn inner() -> Result<(), AgentError> {
        Ok(())
    }
    inner().await?;
    Ok(value)
}

async fn generic<T: Send + 'static>(value: T) -> Result<T, AgentError> {
    #[circuit_breaker(state = BREAKER)]
    async fn inner() -> Result<(), AgentError> {
        Ok(())
    }
    inner().await?;
    Ok(value)
}

struct Agent {
    breaker: CircuitBreaker,
    shared: Arc<CircuitBreaker>,
}

impl Agent {
    #[circuit_breaker(state = self.breaker)]
    async fn own(&self, prompt: &str) -> Result<usize, AgentError> {
        Ok(prompt.len())
    }

    #[circuit_breaker(state = self.shared, when = is_transient)]
    async fn shared(self: Arc<Self>, prompt: String) -> Result<usize, AgentError> {
        Ok(prompt.len())
    }
}

trait Ask {
    async fn ask(&self, prompt: &str) -> Result<usize, AgentError>;
}

impl Ask for Agent {
    #[circuit_breaker(state = self.breaker)]
    async fn ask(&self, prompt: &str) -> Result<usize, AgentError> {
        Ok(prompt.len())
    }
}

resilience::workflow! {
    /// A workflow step behind the shared breaker.
    workflow Guarded(x: u8) -> Result<u8, AgentError> {
        #[circuit_breaker(state = BREAKER)]
        step first: u8 = plain(*x).await;
        first
    }
}

resilience::workflow! {
    /// A breaker handed in as an input named in capitals: a value, not a
    /// `static`.
    #[allow(non_snake_case)]
    workflow Handed(BRK: Arc<CircuitBreaker>, x: u8) -> Result<u8, AgentError> {
        #[circuit_breaker(state = BRK)]
        step first: u8 = plain(*x).await;
        first
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let agent = Arc::new(Agent {
        breaker: CircuitBreaker::new(BreakerPolicy::consecutive(3)),
        shared: Arc::new(CircuitBreaker::new(BreakerPolicy::new())),
    });
    assert_send(plain(1));
    assert_send(qualified(1));
    assert_send(stacked(String::new()));
    assert_send(generic(1u8));
    assert_send(generic_static(1u8));
    assert_send(by_reference(1));
    assert_send(lowercase_static(1));
    static PARAMETER: CircuitBreaker = CircuitBreaker::new(BreakerPolicy::consecutive(1));
    assert_send(parameter(&PARAMETER, 1));
    assert_send(agent.own("x"));
    assert_send(Arc::clone(&agent).shared(String::new()));
    let _ = agent.ask("x");
    assert_send(Guarded::new(1).run());
    assert_send(Handed::new(Arc::new(CircuitBreaker::new(BreakerPolicy::new())), 1).run());
}

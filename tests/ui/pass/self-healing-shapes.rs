//! `#[self_healing]` and `#[agent]` on the shapes users write: a `static`,
//! a field, an `Arc` field, `&mut self`, owned arguments under a retry,
//! `#[async_trait]`, names as `&'static str`, `String`, `Arc<str>` and
//! `AgentName`; and the futures stay `Send`.

use std::sync::Arc;

use resilience::{Abandoned, AgentName, Elapsed, Health, agent, retry, self_healing, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    #[error(transparent)]
    Abandoned(#[from] Abandoned),
}

static HEALTH: Health = Health::new();

#[agent(name = "free")]
#[self_healing(state = HEALTH)]
async fn free(prompt: String) -> Result<String, AgentError> {
    Ok(prompt)
}

struct Agent {
    name: String,
    health: Health<String>,
    shared: Arc<Health<String>>,
    calls: u32,
}

impl Agent {
    #[agent(name = self.name)]
    #[self_healing(state = self.health, max_failures = 5)]
    #[retry(attempts = 2)]
    #[timeout("1s")]
    async fn ask(&mut self, prompt: String) -> Result<String, AgentError> {
        self.calls += 1;
        let model = self.health.cure().map_or_else(|| "primary".to_owned(), |cure| (*cure).clone());
        if prompt.is_empty() {
            return Err(AgentError::Busy);
        }
        Ok(format!("{model}: {prompt}"))
    }

    #[self_healing(state = self.shared)]
    async fn shared(&self) -> Result<u32, AgentError> {
        Ok(self.calls)
    }
}

struct Named {
    arc: Arc<str>,
    name: AgentName,
}

impl Named {
    #[agent(name = self.arc)]
    async fn by_arc(&self) -> Result<(), AgentError> {
        Ok(())
    }

    #[agent(name = self.name)]
    async fn by_name(&self) -> Result<(), AgentError> {
        Ok(())
    }
}

#[async_trait::async_trait]
trait Ask {
    async fn ask(&self, prompt: String) -> Result<String, AgentError>;
}

struct Remote {
    health: Health,
}

#[async_trait::async_trait]
impl Ask for Remote {
    #[agent(name = "remote")]
    #[self_healing(state = self.health)]
    #[retry(attempts = 2)]
    async fn ask(&self, prompt: String) -> Result<String, AgentError> {
        Ok(prompt)
    }
}

fn is_send<T: Send>(_: T) {}

fn main() {
    is_send(free(String::new()));
    let mut agent = Agent {
        name: "a".into(),
        health: Health::new(),
        shared: Arc::new(Health::new()),
        calls: 0,
    };
    is_send(agent.ask(String::new()));
    is_send(agent.shared());
    let named = Named {
        arc: Arc::from("arc"),
        name: AgentName::new("n"),
    };
    is_send(named.by_arc());
    is_send(named.by_name());
    let remote = Remote { health: Health::new() };
    is_send(remote.ask(String::new()));
}

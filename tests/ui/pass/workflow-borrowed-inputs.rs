//! A workflow borrows inputs with named lifetimes; a `&'a mut` input is
//! used mutably by each step in turn.

use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("agent failed")]
pub struct AgentError;

pub struct Agent;

impl Agent {
    async fn draft(&self, topic: &str) -> Result<String, AgentError> {
        Ok(topic.to_owned())
    }
    async fn remember(&mut self, _line: &str) -> Result<(), AgentError> {
        Ok(())
    }
}

workflow! {
    pub workflow Essay<'a>(agent: &'a mut Agent, topic: &'a str) -> Result<String, AgentError> {
        step draft: String = agent.draft(topic).await;
        step remembered: () = agent.remember(draft).await;
        draft
    }
}

fn main() {
    let mut agent = Agent;
    let run = Essay::new(&mut agent, "rust").run();
    fn is_send<T: Send>(_: &T) {}
    is_send(&run);
}

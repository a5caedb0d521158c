// A workflow that borrows an input names the lifetime (it is a struct
// holding the reference): the error is at the `&`, with the declaration.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("agent failed")]
pub struct AgentError;

pub struct Agent;

impl Agent {
    async fn draft(&self, topic: &str) -> Result<String, AgentError> {
        Ok(topic.to_owned())
    }
}

workflow! {
    pub workflow Essay(agent: &Agent, topic: String) -> Result<String, AgentError> {
        step draft: String = agent.draft(topic).await;
        draft
    }
}

fn main() {}

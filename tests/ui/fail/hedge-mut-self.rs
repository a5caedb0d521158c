use resilience::hedge;

#[derive(Debug, thiserror::Error)]
#[error("model refused")]
struct AgentError;

struct Agent {
    calls: u32,
}

impl Agent {
    #[hedge(after = "1s")]
    async fn ask(&mut self, prompt: &str) -> Result<String, AgentError> {
        self.calls += 1;
        Ok(prompt.to_owned())
    }
}

fn main() {}

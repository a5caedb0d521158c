// A decorated future is `Send` when the body is, so it can be spawned.
use resilience::{fallback, retry, timeout};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
    #[error("refused")]
    Refused,
}

fn is_refused(err: &AgentError) -> bool {
    matches!(err, AgentError::Refused)
}

struct Model;

impl Model {
    async fn complete(&self, prompt: &str) -> Result<String, AgentError> {
        Ok(prompt.to_uppercase())
    }
}

#[fallback(default = String::new(), when = is_refused)]
#[retry(attempts = 3, backoff = exponential, delay = "1ms", max_delay = "10ms", jitter, max_elapsed = "1s")]
#[timeout(seconds = 30)]
async fn ask(model: &Model, prompt: String) -> Result<String, AgentError> {
    model.complete(&prompt).await
}

fn assert_send<T: Send>(_: T) {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    static MODEL: Model = Model;
    assert_send(ask(&MODEL, String::from("hi")));
    let task = tokio::spawn(ask(&MODEL, String::from("hi")));
    assert_eq!(task.await.unwrap().unwrap(), "HI");
    assert!(is_refused(&AgentError::Refused));
}

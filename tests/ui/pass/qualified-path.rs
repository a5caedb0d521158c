// The attributes can be named by path, without a `use`.
#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

#[resilience::fallback(default = 0)]
#[resilience::retry(attempts = 2, delay = "1ms")]
#[resilience::timeout(ms = 500)]
async fn ask(n: u32) -> Result<u32, AgentError> {
    Ok(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(ask(3).await.unwrap(), 3);
}

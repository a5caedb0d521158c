use resilience::retry;

type AgentResult<T> = Result<T, String>;

#[retry(attempts = 2)]
async fn ask() -> AgentResult<u32> {
    Ok(1)
}

fn main() {}

// `?` in a step's `async` block converts into the workflow's error: an error
// without `From` is reported at the `?`.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("agent")]
struct AgentError;

async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

workflow! {
    workflow Fetch() -> Result<u32, AgentError> {
        step value: u32 = async {
            let v = fetch().await?;
            Ok(v + 1)
        }
        .await;
        value
    }
}

fn main() {}

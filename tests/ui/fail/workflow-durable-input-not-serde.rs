// A durable workflow saves its inputs in the checkpoint, so that a run can
// be resumed by its id alone: each input's type must be serde. One error,
// at the input's type, with the fix.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

struct Client {
    base: String,
}

async fn fetch(client: &Client, topic: &str) -> Result<u32, ApiError> {
    Ok((client.base.len() + topic.len()) as u32)
}

workflow! {
    durable workflow Fetch(client: Client, topic: String) -> Result<u32, ApiError> {
        step size: u32 = fetch(client, topic).await;
        step doubled: u32 = async { Ok::<_, ApiError>(size * 2) }.await;
        doubled
    }
}

fn main() {}

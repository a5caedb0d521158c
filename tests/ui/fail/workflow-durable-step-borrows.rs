// A durable step's output is read back from a checkpoint, so it cannot
// borrow: `&'static str` is refused at the type, with the owned form to use.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

async fn pick() -> Result<&'static str, ApiError> {
    Ok("eu-west")
}

async fn place(region: &str) -> Result<u32, ApiError> {
    Ok(region.len() as u32)
}

workflow! {
    durable workflow Place() -> Result<u32, ApiError> {
        step region: &'static str = pick().await;
        step node: u32 = place(region).await;
        node
    }
}

fn main() {}

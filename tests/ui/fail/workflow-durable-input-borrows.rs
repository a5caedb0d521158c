// A durable workflow's inputs are saved in its checkpoint and read back to
// resume it by id, so an input cannot borrow: `&'static str` is refused at
// the type, with the owned form to use.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

async fn count(topic: &str) -> Result<u32, ApiError> {
    Ok(topic.len() as u32)
}

workflow! {
    durable workflow Count(topic: &'static str) -> Result<u32, ApiError> {
        step letters: u32 = count(topic).await;
        step doubled: u32 = async { Ok::<_, ApiError>(letters * 2) }.await;
        doubled
    }
}

fn main() {}

// A resume by id reads a durable workflow's inputs back from the
// checkpoint: an input that is `Serialize` but not `Deserialize` is one
// error, at the input's type.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

#[derive(serde::Serialize)]
struct Spec {
    size: u32,
}

async fn create(spec: &Spec) -> Result<u32, ApiError> {
    Ok(spec.size)
}

workflow! {
    durable workflow Create(spec: Spec) -> Result<u32, ApiError> {
        step id: u32 = create(spec).await;
        step checked: u32 = async { Ok::<_, ApiError>(*id) }.await;
        checked
    }
}

fn main() {}

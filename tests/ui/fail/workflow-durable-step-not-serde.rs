// A durable workflow persists every step's output: each type must be serde.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

struct Handle(u32);

async fn open() -> Result<Handle, ApiError> {
    Ok(Handle(1))
}

async fn read(h: &Handle) -> Result<u32, ApiError> {
    Ok(h.0)
}

workflow! {
    durable workflow Reader() -> Result<u32, ApiError> {
        step handle: Handle = open().await;
        step value: u32 = read(handle).await;
        value
    }
}

fn main() {}

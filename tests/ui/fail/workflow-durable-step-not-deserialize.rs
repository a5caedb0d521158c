// A durable workflow reads every step's output back on resume: a step type
// that is `Serialize` but not `Deserialize` is one error, at the step's type.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
struct ApiError;

#[derive(serde::Serialize)]
struct Receipt {
    id: u32,
}

async fn pay() -> Result<Receipt, ApiError> {
    Ok(Receipt { id: 1 })
}

async fn ship(receipt: &Receipt) -> Result<u32, ApiError> {
    Ok(receipt.id)
}

workflow! {
    durable workflow Order() -> Result<u32, ApiError> {
        step receipt: Receipt = pay().await;
        step parcel: u32 = ship(receipt).await;
        parcel
    }
}

fn main() {}

// Two step names that make the same state variant.
use resilience::workflow;

#[derive(Debug)]
struct ApiError;

async fn one() -> Result<u32, ApiError> {
    Ok(1)
}

workflow! {
    workflow Twins() -> Result<u32, ApiError> {
        step foo_bar: u32 = one().await;
        step foo__bar: u32 = one().await;
        foo__bar
    }
}

fn main() {}

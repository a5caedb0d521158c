// A workflow with an error is still declared: the code that uses it gets no
// second error, only the real one.
use resilience::workflow;

#[derive(Debug)]
struct ApiError;

async fn one() -> Result<u32, ApiError> {
    Ok(1)
}

workflow! {
    workflow Broken(x: u32) -> Result<u32, ApiError> {
        step a: u32 = one().await;
        step a: u32 = one().await;
        a
    }
}

async fn use_it() -> Result<u32, resilience::SagaError<ApiError>> {
    println!("{:?} {}", Broken::STEPS, Broken::diagram());
    Broken::new(1).run().await
}

fn main() {
    drop(use_it());
}

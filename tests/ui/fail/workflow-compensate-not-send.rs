use std::rc::Rc;

use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api failed")]
pub struct ApiError;

async fn create() -> Result<u32, ApiError> {
    Ok(7)
}

async fn configure(_id: &u32) -> Result<(), ApiError> {
    Ok(())
}

workflow! {
    pub workflow Provision(tag: u32) -> Result<u32, ApiError> {
        // An `Rc` cannot go to the task that runs the compensations of a
        // dropped run.
        #[compensate(with = { let log = Rc::new(*tag); move |_id| async move { drop(log); Ok::<(), ApiError>(()) } })]
        step vm: u32 = create().await;
        step configured: () = configure(vm).await;
        vm
    }
}

fn main() {}

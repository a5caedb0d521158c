use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api failed")]
pub struct ApiError;

pub struct Api;

impl Api {
    async fn create(&self) -> Result<u32, ApiError> {
        Ok(7)
    }
    async fn delete(&self, _id: u32) -> Result<(), ApiError> {
        Ok(())
    }
    async fn configure(&self, _id: &u32) -> Result<(), ApiError> {
        Ok(())
    }
}

workflow! {
    pub workflow Provision(api: Api) -> Result<u32, ApiError> {
        // The compensation may run after the run's future is dropped: it
        // cannot borrow `api`.
        #[compensate(with = |id| api.delete(id))]
        step vm: u32 = api.create().await;
        step configured: () = api.configure(vm).await;
        vm
    }
}

fn main() {}

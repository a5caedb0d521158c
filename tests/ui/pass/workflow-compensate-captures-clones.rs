//! An in-memory workflow's compensation owns what it uses: a block that
//! clones what it needs, then a `move` closure.

use std::sync::Arc;

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
    pub workflow Provision(api: Arc<Api>) -> Result<u32, ApiError> {
        #[compensate(with = { let api = Arc::clone(api); move |id| async move { api.delete(id).await } })]
        step vm: u32 = api.create().await;
        step configured: () = api.configure(vm).await;
        vm
    }
}

fn main() {
    let run = Provision::new(Arc::new(Api)).run();
    fn is_send<T: Send>(_: &T) {}
    is_send(&run);
}

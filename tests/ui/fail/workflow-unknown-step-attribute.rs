use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api failed")]
pub struct ApiError;

async fn create_vm() -> Result<u32, ApiError> {
    Ok(7)
}

async fn configure_vm(id: &u32) -> Result<String, ApiError> {
    Ok(format!("cfg-{id}"))
}

#[allow(dead_code)]
async fn delete_vm(_id: u32) -> Result<(), ApiError> {
    Ok(())
}

workflow! {
    pub workflow Provision() -> Result<String, ApiError> {
        #[instrument]
        step vm: u32 = create_vm().await;
        step config: String = configure_vm(vm).await;
        config
    }
}

fn main() {}

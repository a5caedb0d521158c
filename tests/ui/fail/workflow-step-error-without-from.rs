// A step's error must convert into the workflow's error with `From`.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api failed")]
pub struct ApiError;

#[derive(Debug, thiserror::Error)]
#[error("disk full")]
pub struct DiskError;

async fn create_vm() -> Result<u32, ApiError> {
    Ok(7)
}

async fn attach_disk(_vm: &u32) -> Result<String, DiskError> {
    Ok("disk-1".into())
}

workflow! {
    pub workflow Provision() -> Result<String, ApiError> {
        step vm: u32 = create_vm().await;
        step disk: String = attach_disk(vm).await;
        disk
    }
}

fn main() {}

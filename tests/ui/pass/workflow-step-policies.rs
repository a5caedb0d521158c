// A step carrying every attribute: `#[retry]`, `#[timeout]`,
// `#[fallback(default = ..)]` and `#[compensate(with = path)]`.
//
// `when = is_quota` is a workaround: on a workflow step, `#[fallback(default = ..)]`
// without `when` leaves the step's error type uninferred (E0282 at the step's
// type, E0283 `ApiError: From<_>`), since nothing is ever rethrown.
use std::sync::Mutex;

use resilience::{Elapsed, workflow};

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("quota exceeded")]
    Quota,
    #[error("disk full")]
    DiskFull,
    #[error(transparent)]
    Timeout(#[from] Elapsed),
}

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(line: String) {
    LOG.lock().unwrap().push(line);
}

/// Fails with `Quota` until `*failures` reaches zero.
async fn create_vm(failures: &Mutex<u32>) -> Result<u32, ApiError> {
    log("create".into());
    let mut left = failures.lock().unwrap();
    if *left > 0 {
        *left -= 1;
        return Err(ApiError::Quota);
    }
    Ok(7)
}

fn is_quota(error: &ApiError) -> bool {
    matches!(error, ApiError::Quota)
}

mod cleanup {
    pub async fn delete_vm(id: u32) -> Result<(), super::ApiError> {
        super::log(format!("delete {id}"));
        Ok(())
    }
}

async fn attach_disk(vm: &u32, fail: &bool) -> Result<String, ApiError> {
    log(format!("attach to {vm}"));
    if *fail { Err(ApiError::DiskFull) } else { Ok(format!("disk-{vm}")) }
}

workflow! {
    /// Create a VM (retried, bounded, with a default id), then attach a disk.
    pub workflow Provision(failures: Mutex<u32>, fail_attach: bool) -> Result<String, ApiError> {
        /// The VM: created with a retry, undone by `cleanup::delete_vm`.
        #[fallback(default = 0, when = is_quota)]
        #[retry(attempts = 2, backoff = constant, delay = "1ms")]
        #[timeout("1s")]
        #[compensate(with = cleanup::delete_vm)]
        step vm: u32 = create_vm(failures).await;

        step disk: String = attach_disk(vm, fail_attach).await;

        disk
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // One failure: the retry absorbs it.
    let done = Provision::new(Mutex::new(1), false).run().await.unwrap();
    assert_eq!(done, "disk-7");
    assert_eq!(std::mem::take(&mut *LOG.lock().unwrap()), ["create", "create", "attach to 7"]);

    // Two failures: the retry gives up and the fallback's default id is used.
    let done = Provision::new(Mutex::new(2), false).run().await.unwrap();
    assert_eq!(done, "disk-0");
    std::mem::take(&mut *LOG.lock().unwrap());

    // The later step fails: the VM is deleted.
    let err = Provision::new(Mutex::new(0), true).run().await.unwrap_err();
    assert_eq!(err.failed_step(), Some("disk"));
    assert_eq!(err.error(), Some(&ApiError::DiskFull));
    assert_eq!(err.completed(), ["vm"]);
    assert!(err.is_fully_compensated());
    assert_eq!(
        std::mem::take(&mut *LOG.lock().unwrap()),
        ["create", "attach to 7", "delete 7"]
    );

    assert!(Provision::diagram().contains("retry ×2"));
}

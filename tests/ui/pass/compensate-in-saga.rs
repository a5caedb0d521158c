// A `#[compensate(with = undo)]` fn inside `resilience::saga`: when a later
// step fails, the compensation runs with the output of the completed call.
use std::sync::Mutex;

use resilience::{compensate, saga};

#[derive(Debug, PartialEq, thiserror::Error)]
enum CloudError {
    #[error("disk full")]
    DiskFull,
}

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

async fn undo(id: u32) -> Result<(), CloudError> {
    LOG.lock().unwrap().push(format!("undo {id}"));
    Ok(())
}

#[compensate(with = undo)]
async fn create(id: u32) -> Result<u32, CloudError> {
    LOG.lock().unwrap().push(format!("create {id}"));
    Ok(id)
}

async fn attach(_id: u32) -> Result<(), CloudError> {
    LOG.lock().unwrap().push("attach".into());
    Err(CloudError::DiskFull)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let err = saga(async {
        let id = create(7).await?;
        attach(id).await
    })
    .await
    .unwrap_err();
    assert_eq!(*LOG.lock().unwrap(), ["create 7", "attach", "undo 7"]);
    assert_eq!(err.error(), Some(&CloudError::DiskFull));
    assert!(err.is_fully_compensated());
    assert_eq!(err.compensations().len(), 1);
    assert_eq!(err.compensations()[0].step, "create");

    // Outside a saga nothing is registered, so nothing is undone.
    LOG.lock().unwrap().clear();
    create(8).await.unwrap();
    assert!(attach(8).await.is_err());
    assert_eq!(*LOG.lock().unwrap(), ["create 8", "attach"]);
}

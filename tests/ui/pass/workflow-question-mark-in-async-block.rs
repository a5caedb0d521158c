// `?` inside a step's `async` block that ends with `Ok(v)`: nothing in the
// block names its error type, so it is the workflow's, and `?` converts into
// it (as in the body of a `#[retry]` fn). A step that is just `Ok(v)` too.
use resilience::{Failure, workflow};

#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Timeout(#[from] resilience::Elapsed),
}

async fn fetch(fail: bool) -> Result<u32, std::io::Error> {
    if fail {
        Err(std::io::Error::other("disk gone"))
    } else {
        Ok(1)
    }
}

workflow! {
    workflow Fetch(fail: bool) -> Result<u32, AgentError> {
        step seed: u32 = Ok(40);
        step value: u32 = async {
            if *seed == 0 {
                return Ok(0);
            }
            let v = fetch(*fail).await?;
            println!("fetched {v}");
            Ok(v + seed)
        }
        .await;
        #[timeout("1s")]
        step more: u32 = async move {
            let w = fetch(false).await?;
            Ok(w + value)
        }
        .await;
        more
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Fetch::new(false).run().await.unwrap(), 42);
    let err = Fetch::new(true).run().await.unwrap_err();
    assert_eq!(err.failed_step(), Some("value"));
    assert!(matches!(err.failure(), Failure::Error(AgentError::Io(_))));
}

// Names bound by `match` arms, `if let`, tuple `let`s and `for` loops inside
// a step may share a later step's name; a raw identifier is a fine step name.
use resilience::workflow;

#[derive(Debug, thiserror::Error)]
#[error("api error")]
pub struct ApiError;

async fn value(x: u32) -> Result<u32, ApiError> {
    Ok(x)
}

workflow! {
    workflow Bindings(input: Option<u32>) -> Result<u32, ApiError> {
        step a: u32 = {
            let (b, r#type) = (1, 2);
            let mut sum = b + r#type;
            if let Some(c) = input {
                sum += c;
            }
            for c in 0..2 {
                sum += c;
            }
            match input {
                Some(b) => value(sum + b).await,
                None => value(sum).await,
            }
        };
        step b: u32 = value(*a).await;
        step r#type: u32 = value(*b + 1).await;
        step c: u32 = value(*r#type).await;
        c
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Bindings::new(Some(10)).run().await.unwrap(), 25);
    assert_eq!(Bindings::STEPS, ["a", "b", "type", "c"]);
    assert!(Bindings::diagram().contains("type: u32"));
}

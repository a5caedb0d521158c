// A step's block expression can use `?` and `return`: both leave the step,
// not the workflow, and its error converts into the workflow's with `From`.
use resilience::workflow;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("empty input")]
    Empty,
    #[error(transparent)]
    Int(#[from] std::num::ParseIntError),
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("too large: {0}")]
    TooLarge(i64),
}

workflow! {
    pub workflow Double(raw: String) -> Result<i64, JobError> {
        step parsed: i64 = {
            if raw.is_empty() {
                return Err(ParseError::Empty);
            }
            if raw == "zero" {
                return Ok(0);
            }
            let n: i64 = raw.trim().parse()?;
            Ok(n)
        };

        step doubled: i64 = {
            if *parsed > 1000 {
                return Err(JobError::TooLarge(*parsed));
            }
            Ok::<_, JobError>(parsed * 2)
        };

        doubled
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Double::new("21".into()).run().await.unwrap(), 42);
    assert_eq!(Double::new("zero".into()).run().await.unwrap(), 0);

    let err = Double::new(String::new()).run().await.unwrap_err();
    assert_eq!(err.failed_step(), Some("parsed"));
    assert_eq!(err.error(), Some(&JobError::Parse(ParseError::Empty)));

    let err = Double::new("x".into()).run().await.unwrap_err();
    assert!(matches!(err.error(), Some(JobError::Parse(ParseError::Int(_)))));

    let err = Double::new("5000".into()).run().await.unwrap_err();
    assert_eq!(err.failed_step(), Some("doubled"));
    assert_eq!(err.error(), Some(&JobError::TooLarge(5000)));
}

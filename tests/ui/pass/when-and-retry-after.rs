// `when` and `retry_after` take paths: a fn, a module path, an associated fn.
use resilience::{fallback, retry};

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("rate limited")]
    RateLimited { after_ms: u64 },
    #[error("bad request")]
    BadRequest,
}

impl ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. })
    }
}

mod hints {
    use std::time::Duration;

    pub fn retry_after(err: &super::ApiError) -> Option<Duration> {
        match err {
            super::ApiError::RateLimited { after_ms } => Some(Duration::from_millis(*after_ms)),
            super::ApiError::BadRequest => None,
        }
    }
}

fn is_bad_request(err: &ApiError) -> bool {
    matches!(err, ApiError::BadRequest)
}

#[fallback(default = 0, when = is_bad_request)]
#[retry(attempts = 3, delay = "1ms", when = ApiError::is_transient, retry_after = hints::retry_after)]
async fn call(status: u16) -> Result<u32, ApiError> {
    match status {
        429 => Err(ApiError::RateLimited { after_ms: 1 }),
        400 => Err(ApiError::BadRequest),
        _ => Ok(u32::from(status)),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(call(200).await.unwrap(), 200);
    assert_eq!(call(400).await.unwrap(), 0);
    assert!(matches!(call(429).await, Err(ApiError::RateLimited { .. })));
}

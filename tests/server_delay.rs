//! The `http` feature: a 429's `Retry-After` kept past `error_for_status()`
//! and obeyed by `#[retry]`, on tokio's paused clock.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use resilience::{retry, server_delay};
use tokio::time::Instant;

/// A stand-in with the shape of reqwest's `Response`: `error_for_status()`
/// consumes it, headers and all.
struct Response {
    status: StatusCode,
    headers: HeaderMap,
}

#[derive(Debug)]
struct StatusError(StatusCode);

impl Response {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn error_for_status(self) -> Result<Self, StatusError> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(StatusError(self.status))
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("HTTP {status}")]
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
}

impl ApiError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
        }
    }
}

/// What the server answers to one call: a status and headers.
type Answer = (StatusCode, &'static [(&'static str, &'static str)]);

/// A server that answers each call from a script.
struct Server {
    script: Mutex<Vec<Answer>>,
    calls: Mutex<Vec<Duration>>,
    start: Instant,
}

impl Server {
    fn new(mut script: Vec<Answer>) -> Self {
        script.reverse();
        Self {
            script: Mutex::new(script),
            calls: Mutex::new(Vec::new()),
            start: Instant::now(),
        }
    }

    async fn send(&self) -> Response {
        self.calls.lock().unwrap().push(self.start.elapsed());
        let (status, pairs) = self.script.lock().unwrap().pop().expect("script ran out");
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        Response { status, headers }
    }
}

#[retry(attempts = 4, delay = "10ms", retry_after = ApiError::retry_after)]
async fn complete(server: &Server) -> Result<&'static str, ApiError> {
    let response = server.send().await;
    // Read before `error_for_status()` consumes the headers.
    let retry_after = server_delay::from_headers(response.headers());
    response
        .error_for_status()
        .map_err(|StatusError(status)| ApiError::Status {
            status,
            retry_after,
        })?;
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn the_server_delay_replaces_the_backoff() {
    let server = Server::new(vec![
        (StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "2")]),
        (
            StatusCode::TOO_MANY_REQUESTS,
            &[("retry-after-ms", "1500"), ("retry-after", "9")],
        ),
        // Junk: the backoff's own delay (10ms × 2² for the third retry).
        (StatusCode::SERVICE_UNAVAILABLE, &[("retry-after", "soon")]),
        (StatusCode::OK, &[]),
    ]);
    assert_eq!(complete(&server).await.unwrap(), "done");
    assert_eq!(
        *server.calls.lock().unwrap(),
        [0, 2000, 3500, 3540].map(Duration::from_millis)
    );
}

#[retry(attempts = 2, max_elapsed = "1m", retry_after = ApiError::retry_after)]
async fn patient(server: &Server) -> Result<&'static str, ApiError> {
    let response = server.send().await;
    let retry_after = server_delay::from_headers(response.headers());
    response
        .error_for_status()
        .map_err(|StatusError(status)| ApiError::Status {
            status,
            retry_after,
        })?;
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn an_absurd_delay_is_capped_and_max_elapsed_gives_up_at_once() {
    let server = Server::new(vec![(
        StatusCode::TOO_MANY_REQUESTS,
        &[("retry-after", "99999999999999999999999")],
    )]);
    let err = patient(&server).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(server_delay::MAX));
    // No wait of a day: the call gives up at once.
    assert_eq!(server.start.elapsed(), Duration::ZERO);
    assert_eq!(server.calls.lock().unwrap().len(), 1);
}

//! The delay a server asks for (the `http` feature): an LLM API's 429 or
//! 503 carries `retry-after-ms` (milliseconds, OpenAI and Azure) or
//! `Retry-After` (whole seconds, or an HTTP date), read here from an
//! [`http::HeaderMap`] into an `Option<Duration>` for a `#[retry]`'s
//! `retry_after` fn.
//!
//! - `retry-after-ms` wins when both are there and it is valid (it is the
//!   more precise); a junk one falls back to `Retry-After`.
//! - Seconds and milliseconds may carry a fraction (`1.5`), which some
//!   servers send although RFC 9110 does not; a sign, a unit, `NaN` or
//!   anything else is junk: `None`, never a panic.
//! - An HTTP date (any of the three RFC 9110 forms) is read relative to the
//!   `now` given (so a test can pass a fixed one); a date in the past is
//!   [`Duration::ZERO`].
//! - A delay above [`MAX`] (one day) is [`MAX`]: an absurd header cannot
//!   overflow a clock, and a `#[retry]` with `max_elapsed` still gives up
//!   at once on it.
//!
//! # Keeping the delay past `error_for_status()`
//!
//! `reqwest`'s `Response::error_for_status()` consumes the response, and
//! its headers with it. Read the delay first and keep it in your error;
//! `retry_after` then reads it back. Below, `Response` is a stand-in with
//! the shape of reqwest's (reqwest's `HeaderMap` is `http`'s).
//!
//! ```
//! use std::time::Duration;
//! use http::{HeaderMap, HeaderValue, StatusCode};
//! use resilience_runtime::server_delay;
//!
//! #[derive(Debug)]
//! struct Response { status: StatusCode, headers: HeaderMap }
//! #[derive(Debug)]
//! struct StatusError(StatusCode);
//! impl Response {
//!     fn headers(&self) -> &HeaderMap { &self.headers }
//!     fn error_for_status(self) -> Result<Self, StatusError> {
//!         if self.status.is_success() { Ok(self) } else { Err(StatusError(self.status)) }
//!     }
//! }
//!
//! #[derive(Debug)]
//! enum ApiError {
//!     Status { status: StatusCode, retry_after: Option<Duration> },
//! }
//!
//! impl ApiError {
//!     /// For `#[retry(retry_after = ApiError::retry_after)]`.
//!     fn retry_after(&self) -> Option<Duration> {
//!         match self {
//!             ApiError::Status { retry_after, .. } => *retry_after,
//!         }
//!     }
//! }
//!
//! fn check(response: Response) -> Result<Response, ApiError> {
//!     // Before `error_for_status()` consumes the headers.
//!     let retry_after = server_delay::from_headers(response.headers());
//!     response
//!         .error_for_status()
//!         .map_err(|StatusError(status)| ApiError::Status { status, retry_after })
//! }
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", HeaderValue::from_static("2"));
//! let err = check(Response { status: StatusCode::TOO_MANY_REQUESTS, headers }).unwrap_err();
//! assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
//! ```

use core::time::Duration;
use std::time::SystemTime;

use http::HeaderMap;

/// The longest delay read from a header: one day.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::server_delay;
///
/// assert_eq!(server_delay::parse_retry_after_ms("1e400"), None); // junk, not a number
/// assert_eq!(server_delay::parse_retry_after_ms("99999999999999999999"), Some(server_delay::MAX));
/// assert_eq!(server_delay::MAX, Duration::from_secs(86_400));
/// ```
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// The delay `headers` ask for, from `retry-after-ms`, else `Retry-After`,
/// an HTTP date read against the system clock now. `None` if neither is
/// there or valid.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use http::{HeaderMap, HeaderValue};
/// use resilience_runtime::server_delay;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(server_delay::from_headers(&headers), None);
/// headers.insert("retry-after", HeaderValue::from_static("3"));
/// assert_eq!(server_delay::from_headers(&headers), Some(Duration::from_secs(3)));
/// headers.insert("retry-after-ms", HeaderValue::from_static("250"));
/// assert_eq!(server_delay::from_headers(&headers), Some(Duration::from_millis(250)));
/// ```
pub fn from_headers(headers: &HeaderMap) -> Option<Duration> {
    from_headers_at(headers, SystemTime::now())
}

/// [`from_headers`] with an HTTP date read against `now`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{HeaderMap, HeaderValue};
/// use resilience_runtime::server_delay;
///
/// // Sun, 06 Nov 1994 08:49:37 GMT, ten seconds before the date below.
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
/// assert_eq!(server_delay::from_headers_at(&headers, now), Some(Duration::from_secs(10)));
/// ```
pub fn from_headers_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &'static str| {
        headers
            .get_all(name)
            .into_iter()
            .filter_map(|value| value.to_str().ok())
    };
    text("retry-after-ms")
        .find_map(parse_retry_after_ms)
        .or_else(|| text("retry-after").find_map(|value| parse_retry_after(value, now)))
}

/// A `retry-after-ms` value: milliseconds, a fraction allowed. `None` for
/// junk; at most [`MAX`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::server_delay::parse_retry_after_ms;
///
/// assert_eq!(parse_retry_after_ms(" 1500 "), Some(Duration::from_millis(1500)));
/// assert_eq!(parse_retry_after_ms("0.5"), Some(Duration::from_micros(500)));
/// assert_eq!(parse_retry_after_ms("-1"), None);
/// assert_eq!(parse_retry_after_ms("soon"), None);
/// ```
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    decimal(value, 1_000_000)
}

/// A `Retry-After` value: a number of seconds (a fraction allowed) or an
/// HTTP date, read against `now` (a date in the past is zero). `None` for
/// junk; at most [`MAX`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use resilience_runtime::server_delay::parse_retry_after;
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), Some(Duration::from_secs(60)));
/// assert_eq!(parse_retry_after("tomorrow", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Some(delay) = decimal(value, 1_000_000_000) {
        return Some(delay);
    }
    let date = httpdate::parse_http_date(value.trim()).ok()?;
    let delay = date.duration_since(now).unwrap_or(Duration::ZERO);
    Some(delay.min(MAX))
}

/// `digits[.digits]` (surrounding spaces allowed) in units of `unit_nanos`,
/// at most [`MAX`]; `None` for anything else.
fn decimal(value: &str, unit_nanos: u128) -> Option<Duration> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || value.ends_with('.') {
        return None;
    }
    let max = MAX.as_nanos();
    // Exact integer arithmetic: no float rounding, and the cap is reached
    // before anything can overflow.
    let mut nanos: u128 = 0;
    for b in whole.bytes() {
        nanos = nanos * 10 + u128::from(b - b'0');
        if nanos.saturating_mul(unit_nanos) > max {
            return Some(MAX);
        }
    }
    nanos *= unit_nanos;
    let mut scale = unit_nanos;
    for b in fraction.bytes() {
        scale /= 10;
        if scale == 0 {
            break; // below a nanosecond
        }
        nanos += u128::from(b - b'0') * scale;
    }
    let nanos = u64::try_from(nanos.min(max)).ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Sun, 06 Nov 1994 08:49:37 GMT.
    fn date_1994() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn seconds_and_milliseconds() {
        assert_eq!(parse_retry_after("0", date_1994()), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1", date_1994()),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_retry_after("1.25", date_1994()),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(parse_retry_after_ms("20"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_retry_after_ms("20.0000001"),
            Some(Duration::from_millis(20))
        );
        assert_eq!(parse_retry_after_ms("007"), Some(Duration::from_millis(7)));
    }

    #[test]
    fn junk_is_none_never_a_panic() {
        for junk in [
            "",
            " ",
            "-1",
            "+1",
            "1s",
            "1 2",
            ".5",
            "5.",
            "1.2.3",
            "NaN",
            "inf",
            "0x10",
            "1e3",
            "١",
            "tomorrow",
            "Sun, 06 Nov 1994",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(junk, date_1994()), None, "{junk:?}");
            assert_eq!(parse_retry_after_ms(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn absurd_values_are_capped() {
        assert_eq!(parse_retry_after("86401", date_1994()), Some(MAX));
        assert_eq!(parse_retry_after("86400", date_1994()), Some(MAX));
        assert_eq!(
            parse_retry_after("86399.5", date_1994()),
            Some(MAX - Duration::from_millis(500))
        );
        let huge = "9".repeat(10_000);
        assert_eq!(parse_retry_after(&huge, date_1994()), Some(MAX));
        assert_eq!(parse_retry_after_ms(&huge), Some(MAX));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", date_1994()),
            Some(MAX)
        );
    }

    #[test]
    fn the_three_http_date_forms() {
        let now = date_1994() - Duration::from_secs(5);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(5)),
                "{date}"
            );
        }
        // In the past: retry now.
        let later = date_1994() + Duration::from_secs(3600);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn milliseconds_win_and_junk_falls_back() {
        let now = date_1994();
        let both = headers(&[("retry-after", b"2"), ("retry-after-ms", b"1500")]);
        assert_eq!(
            from_headers_at(&both, now),
            Some(Duration::from_millis(1500))
        );
        let junk_ms = headers(&[("retry-after-ms", b"soon"), ("Retry-After", b"2")]);
        assert_eq!(from_headers_at(&junk_ms, now), Some(Duration::from_secs(2)));
        // A repeated header: the first valid value.
        let repeated = headers(&[("retry-after", b"later"), ("retry-after", b"4")]);
        assert_eq!(
            from_headers_at(&repeated, now),
            Some(Duration::from_secs(4))
        );
        // Bytes that are not visible ASCII are junk.
        let binary = headers(&[("retry-after", b"\xff\xfe")]);
        assert_eq!(from_headers_at(&binary, now), None);
        assert_eq!(from_headers_at(&HeaderMap::new(), now), None);
    }
}

//! The checkpoint file format, version 1: [`encode`] and [`decode`].
//!
//! ```text
//! resilience-checkpoint 1 crc32=5d0c1e4b len=312
//! {
//!   "workflow": "Provision",
//!   "id": "order-42",
//!   "fingerprint": "00000000feedbeef",
//!   "position": 1,
//!   "phase": "running",
//!   "state": {"AfterCreate":{"create":7}}
//! }
//! ```
//!
//! A header line (magic word, format version, the CRC-32 of the body as 8
//! lowercase hex digits, the body's length in bytes), then the body: a JSON
//! object ending with a newline. The state is the workflow's own JSON, kept
//! byte for byte. The fingerprint is 16 hex digits, so that tools that read
//! JSON numbers as doubles do not round it.
//!
//! `phase` is `"running"`, or `{"compensating": {..}}` / `{"failed": {..}}`
//! with `failed_step`, `failure` and `compensations`: a list of
//! `{"step": "create", "outcome": "ok"}` or
//! `{"step": "create", "outcome": {"failed": "503"}}`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Checkpoint, CheckpointError, CompensationRecord, Phase};

/// The first word of every checkpoint.
const MAGIC: &str = "resilience-checkpoint";
/// The format version this build writes and reads.
pub(crate) const VERSION: u32 = 1;
/// No valid header line is longer than this (the longest is about 70 bytes).
const MAX_HEADER: usize = 128;

/// The body, as written.
#[derive(Serialize)]
struct BodyOut<'a> {
    workflow: &'a str,
    id: &'a str,
    fingerprint: String,
    position: u32,
    phase: PhaseRepr,
    state: &'a RawValue,
}

/// The body, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyIn<'a> {
    workflow: String,
    id: String,
    fingerprint: String,
    position: u32,
    phase: PhaseRepr,
    #[serde(borrow)]
    state: &'a RawValue,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum PhaseRepr {
    Running,
    Compensating(UndoRepr),
    Failed(UndoRepr),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoRepr {
    failed_step: String,
    failure: String,
    compensations: Vec<RecordRepr>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordRepr {
    step: String,
    outcome: OutcomeRepr,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeRepr {
    Ok,
    Failed(String),
}

impl UndoRepr {
    fn new(failed_step: &str, failure: &str, compensations: &[CompensationRecord]) -> Self {
        let compensations = compensations
            .iter()
            .map(|record| RecordRepr {
                step: record.step.clone(),
                outcome: match &record.outcome {
                    Ok(()) => OutcomeRepr::Ok,
                    Err(error) => OutcomeRepr::Failed(error.clone()),
                },
            })
            .collect();
        Self {
            failed_step: failed_step.to_owned(),
            failure: failure.to_owned(),
            compensations,
        }
    }

    fn into_parts(self) -> (String, String, Vec<CompensationRecord>) {
        let compensations = self
            .compensations
            .into_iter()
            .map(|record| {
                CompensationRecord::new(
                    record.step,
                    match record.outcome {
                        OutcomeRepr::Ok => Ok(()),
                        OutcomeRepr::Failed(error) => Err(error),
                    },
                )
            })
            .collect();
        (self.failed_step, self.failure, compensations)
    }
}

impl From<&Phase> for PhaseRepr {
    fn from(phase: &Phase) -> Self {
        match phase {
            Phase::Running => Self::Running,
            Phase::Compensating {
                failed_step,
                failure,
                compensations,
            } => Self::Compensating(UndoRepr::new(failed_step, failure, compensations)),
            Phase::Failed {
                failed_step,
                failure,
                compensations,
            } => Self::Failed(UndoRepr::new(failed_step, failure, compensations)),
        }
    }
}

impl From<PhaseRepr> for Phase {
    fn from(repr: PhaseRepr) -> Self {
        match repr {
            PhaseRepr::Running => Self::Running,
            PhaseRepr::Compensating(undo) => {
                let (failed_step, failure, compensations) = undo.into_parts();
                Self::Compensating {
                    failed_step,
                    failure,
                    compensations,
                }
            }
            PhaseRepr::Failed(undo) => {
                let (failed_step, failure, compensations) = undo.into_parts();
                Self::Failed {
                    failed_step,
                    failure,
                    compensations,
                }
            }
        }
    }
}

/// The bytes of `checkpoint` for workflow id `id`, in the current format.
///
/// Stores call this; it is public so that a store of your own (a database
/// column, an object store) can keep the same versioned, checksummed format.
///
/// # Errors
///
/// [`CheckpointError::InvalidState`] if `checkpoint.state` is not one JSON
/// value. `location` is only used to name the checkpoint in that error.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{decode, encode, Checkpoint, Phase};
///
/// let checkpoint = Checkpoint::new("Provision", 0xfeed_beef, 1, Phase::Running, br#"{"AfterCreate":{"create":7}}"#.to_vec());
/// let bytes = encode("order-42", &checkpoint, "memory:Provision/order-42").unwrap();
/// assert!(bytes.starts_with(b"resilience-checkpoint 1 crc32="));
/// assert_eq!(decode(&bytes, "memory:Provision/order-42").unwrap(), ("order-42".to_owned(), checkpoint));
/// ```
pub fn encode(
    id: &str,
    checkpoint: &Checkpoint,
    location: &str,
) -> Result<Vec<u8>, CheckpointError> {
    let invalid_state = |e: serde_json::Error| CheckpointError::InvalidState {
        location: location.to_owned(),
        reason: e.to_string(),
    };
    let state: &RawValue = serde_json::from_slice(&checkpoint.state).map_err(invalid_state)?;
    let body = BodyOut {
        workflow: &checkpoint.workflow,
        id,
        fingerprint: format!("{:016x}", checkpoint.fingerprint),
        position: checkpoint.position,
        phase: PhaseRepr::from(&checkpoint.phase),
        state,
    };
    let mut body = serde_json::to_vec_pretty(&body).map_err(invalid_state)?;
    body.push(b'\n');
    let header = format!(
        "{MAGIC} {VERSION} crc32={:08x} len={}\n",
        crc32fast::hash(&body),
        body.len()
    );
    let mut bytes = Vec::with_capacity(header.len() + body.len());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Reads bytes written by [`encode`]: the workflow id and the checkpoint.
///
/// Checks, in this order: the header line, the format version, the length,
/// the checksum, then the JSON. Never panics, whatever the bytes.
///
/// # Errors
///
/// Each names `location`: [`Truncated`](CheckpointError::Truncated),
/// [`Corrupt`](CheckpointError::Corrupt),
/// [`UnknownVersion`](CheckpointError::UnknownVersion),
/// [`Checksum`](CheckpointError::Checksum).
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{decode, CheckpointError};
///
/// let err = decode(b"resilience-checkpoint 2 crc32=00000000 len=0\n", "a.checkpoint").unwrap_err();
/// assert!(matches!(err, CheckpointError::UnknownVersion { version: 2, .. }));
/// assert_eq!(
///     err.to_string(),
///     "a.checkpoint: unknown checkpoint format version 2 (this build reads version 1)"
/// );
/// ```
pub fn decode(bytes: &[u8], location: &str) -> Result<(String, Checkpoint), CheckpointError> {
    let corrupt = |reason: String| CheckpointError::Corrupt {
        location: location.to_owned(),
        reason,
    };
    let Some(end) = bytes.iter().take(MAX_HEADER).position(|&b| b == b'\n') else {
        let looks_like_header = MAGIC.as_bytes().starts_with(bytes)
            || (bytes.starts_with(MAGIC.as_bytes()) && bytes.len() < MAX_HEADER);
        return Err(if looks_like_header {
            CheckpointError::Truncated {
                location: location.to_owned(),
                expected: None,
                found: bytes.len() as u64,
            }
        } else {
            corrupt(format!(
                "it does not start with a `{MAGIC} <version> crc32=<hex> len=<bytes>` line"
            ))
        });
    };
    let (header, body) = (&bytes[..end], &bytes[end + 1..]);
    let header = std::str::from_utf8(header)
        .map_err(|_| corrupt("the header line is not UTF-8".to_owned()))?;
    let fields: Vec<&str> = header.split(' ').collect();
    if fields.first() != Some(&MAGIC) {
        return Err(corrupt(format!(
            "it does not start with `{MAGIC}` (header line {header:?})"
        )));
    }
    let version = fields
        .get(1)
        .and_then(|v| parse_decimal(v))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| corrupt(format!("no format version in the header line {header:?}")))?;
    if version != VERSION {
        return Err(CheckpointError::UnknownVersion {
            location: location.to_owned(),
            version,
        });
    }
    let bad_header = || corrupt(format!("malformed header line {header:?}"));
    let [_, _, crc, len] = fields[..] else {
        return Err(bad_header());
    };
    let crc = crc
        .strip_prefix("crc32=")
        .and_then(|hex| parse_hex(hex, 8))
        .ok_or_else(bad_header)?;
    let len = len
        .strip_prefix("len=")
        .and_then(parse_decimal)
        .ok_or_else(bad_header)?;
    let found = body.len() as u64;
    if found < len {
        return Err(CheckpointError::Truncated {
            location: location.to_owned(),
            expected: Some(len),
            found,
        });
    }
    if found > len {
        return Err(corrupt(format!(
            "{} bytes of trailing garbage after the {len}-byte body",
            found - len
        )));
    }
    let actual = crc32fast::hash(body);
    // `parse_hex` of 8 digits fits in a u32.
    let crc = crc as u32;
    if actual != crc {
        return Err(CheckpointError::Checksum {
            location: location.to_owned(),
            expected: crc,
            found: actual,
        });
    }
    let body: BodyIn<'_> =
        serde_json::from_slice(body).map_err(|e| corrupt(format!("bad JSON body: {e}")))?;
    let fingerprint = parse_hex(&body.fingerprint, 16).ok_or_else(|| {
        corrupt(format!(
            "the fingerprint {:?} is not 16 lowercase hex digits",
            body.fingerprint
        ))
    })?;
    let checkpoint = Checkpoint {
        workflow: body.workflow,
        fingerprint,
        position: body.position,
        phase: body.phase.into(),
        state: body.state.get().as_bytes().to_vec(),
    };
    Ok((body.id, checkpoint))
}

/// `digits` lowercase hex digits, exactly.
fn parse_hex(s: &str, digits: usize) -> Option<u64> {
    let ok = s.len() == digits && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| u64::from_str_radix(s, 16).ok()).flatten()
}

/// A decimal number without sign, at most 20 digits, fitting in a u64.
fn parse_decimal(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint::new(
            "Provision",
            u64::MAX - 1,
            2,
            Phase::Compensating {
                failed_step: "configure".into(),
                failure: "disk \"full\"\n".into(),
                compensations: vec![
                    CompensationRecord {
                        step: "reserve".into(),
                        outcome: Ok(()),
                    },
                    CompensationRecord {
                        step: "create".into(),
                        outcome: Err("503".into()),
                    },
                ],
            },
            br#"{"AfterConfigure":{"create":7,"configure":"ok \u00e9"}}"#.to_vec(),
        )
    }

    #[test]
    fn round_trip_keeps_every_field_and_the_state_bytes() {
        let checkpoint = sample();
        let bytes = encode("id-1", &checkpoint, "t").unwrap();
        let (id, back) = decode(&bytes, "t").unwrap();
        assert_eq!(id, "id-1");
        assert_eq!(back, checkpoint);
    }

    #[test]
    fn the_file_is_human_readable() {
        let bytes = encode("id-1", &sample(), "t").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert!(
            header.starts_with("resilience-checkpoint 1 crc32="),
            "{header}"
        );
        assert!(
            header.ends_with(&format!(" len={}", body.len())),
            "{header}"
        );
        assert!(
            body.contains(r#""fingerprint": "fffffffffffffffe""#),
            "{body}"
        );
        assert!(body.contains(r#""outcome": "ok""#), "{body}");
        assert!(body.contains(r#""failed": "503""#), "{body}");
        assert!(body.ends_with("}\n"));
    }

    #[test]
    fn header_variants() {
        let good = encode("id", &sample(), "t").unwrap();
        let body_start = good.iter().position(|&b| b == b'\n').unwrap() + 1;
        let body = &good[body_start..];
        let with_header = |header: &str| {
            let mut bytes = header.as_bytes().to_vec();
            bytes.extend_from_slice(body);
            decode(&bytes, "t").unwrap_err()
        };
        let crc = crc32fast::hash(body);
        let len = body.len();
        for header in [
            format!("resilience-checkpoint 1 crc32=DEADBEEF len={len}\n"),
            format!("resilience-checkpoint 1 crc32=1234567 len={len}\n"),
            format!("resilience-checkpoint 1 crc32={crc:08x} len=+{len}\n"),
            format!("resilience-checkpoint 1 crc32={crc:08x}  len={len}\n"),
            format!("resilience-checkpoint 1 crc32={crc:08x} len={len} x\n"),
            format!("resilience-checkpoint 1 len={len} crc32={crc:08x}\n"),
            format!("resilience-checkpoint one crc32={crc:08x} len={len}\n"),
            format!("resilience-checkpoint 99999999999 crc32={crc:08x} len={len}\n"),
            format!("other-format 1 crc32={crc:08x} len={len}\n"),
            format!("resilience-checkpoint 1 crc32={crc:08x} len={len}\r\n"),
        ] {
            let err = with_header(&header);
            assert!(
                matches!(err, CheckpointError::Corrupt { .. }),
                "{header:?}: {err}"
            );
        }
        let err = with_header("resilience-checkpoint 7 whatever\n");
        assert!(matches!(
            err,
            CheckpointError::UnknownVersion { version: 7, .. }
        ));
        let err = with_header(&format!(
            "resilience-checkpoint 1 crc32={:08x} len={len}\n",
            crc ^ 1
        ));
        assert!(matches!(err, CheckpointError::Checksum { .. }), "{err}");
    }

    #[test]
    fn every_truncation_is_truncated() {
        let bytes = encode("id", &sample(), "t").unwrap();
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut], "t") {
                Err(CheckpointError::Truncated { .. }) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn state_must_be_json() {
        let mut checkpoint = sample();
        checkpoint.state = b"{not json".to_vec();
        let err = encode("id", &checkpoint, "memory:P/id").unwrap_err();
        assert!(matches!(err, CheckpointError::InvalidState { .. }));
        assert!(
            err.to_string()
                .starts_with("memory:P/id: the state to save is not valid JSON: "),
            "{err}"
        );
    }
}

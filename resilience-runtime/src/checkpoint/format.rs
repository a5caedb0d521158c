//! The checkpoint format, versions 1 to 3 (a checkpoint) and 4 (the
//! directory store's file of two slots, see [`slots`]): [`encode`] and
//! [`decode`].
//!
//! ```text
//! resilience-checkpoint 2 crc32=5d0c1e4b len=345
//! {
//!   "workflow": "Provision",
//!   "id": "order-42",
//!   "fingerprint": "00000000feedbeef",
//!   "position": 1,
//!   "phase": "running",
//!   "state": {"AfterCreate":{"create":7}},
//!   "inputs": {"spec":"small"}
//! }
//! ```
//!
//! Version 2 adds `inputs`, the workflow's inputs as JSON, and requires it.
//! Version 1 has no `inputs` (and refuses one). Version 3 adds `branches`,
//! the finished branches of the parallel step that runs next, and requires
//! it and `inputs`:
//!
//! ```text
//!   "branches": {"step": "summaries", "done": [{"item": 3, "output": "C"}, {"item": 0, "output": "A"}]}
//! ```
//!
//! A checkpoint with finished branches is written as version 3, one with
//! inputs and no branches as version 2, one without inputs
//! (`Checkpoint::inputs` is `None`) as version 1, so that every checkpoint
//! round-trips exactly; all three are read.
//! Version 4 wraps them: the [`DirectoryStore`](super::DirectoryStore)'s
//! file keeps two of them, in slots written in place (see [`slots`]); it
//! still reads files of versions 1 to 3, which older builds wrote.
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

use super::{Checkpoint, CheckpointError, CompensationRecord, FinishedBranches, Phase};

pub(crate) mod slots;

/// The first word of every checkpoint.
const MAGIC: &str = "resilience-checkpoint";
/// The newest version of the checkpoint itself that [`encode`] writes
/// (it reads every version from 1 up).
pub(crate) const VERSION: u32 = 3;
/// The version of a checkpoint with inputs and no finished branches.
const VERSION_WITHOUT_BRANCHES: u32 = 2;
/// The newest format version this build reads: version 4 is the two-slot
/// file of the directory store, which holds a checkpoint of version 1 to 3
/// in each slot (see [`slots`]).
pub(crate) const NEWEST_READ: u32 = 4;
/// The version of a checkpoint without inputs.
const VERSION_WITHOUT_INPUTS: u32 = 1;
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
    #[serde(skip_serializing_if = "Option::is_none")]
    inputs: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branches: Option<BranchesOut<'a>>,
}

/// `branches` (version 3), as written.
#[derive(Serialize)]
struct BranchesOut<'a> {
    step: &'a str,
    done: Vec<DoneOut<'a>>,
}

#[derive(Serialize)]
struct DoneOut<'a> {
    item: usize,
    output: &'a RawValue,
}

/// `branches` (version 3), as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BranchesIn<'a> {
    step: String,
    #[serde(borrow)]
    done: Vec<DoneIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneIn<'a> {
    item: usize,
    #[serde(borrow)]
    output: &'a RawValue,
}

/// The body, as read (version 1: `inputs` absent; version 2: required).
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
    /// Absent: `None`; present, `null` included: `Some`.
    #[serde(borrow, default, deserialize_with = "present")]
    inputs: Option<&'a RawValue>,
    #[serde(borrow, default)]
    branches: Option<BranchesIn<'a>>,
}

/// A field that is present, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
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
/// value, [`CheckpointError::InvalidInputs`] if `checkpoint.inputs` is not.
/// `location` is only used to name the checkpoint in those errors.
///
/// # Examples
///
/// ```
/// use resilience_runtime::checkpoint::{decode, encode, Checkpoint, Phase};
///
/// let checkpoint = Checkpoint::new("Provision", 0xfeed_beef, 1, Phase::Running, br#"{"AfterCreate":{"create":7}}"#.to_vec())
///     .with_inputs(br#"{"spec":"small"}"#.to_vec());
/// let bytes = encode("order-42", &checkpoint, "memory:Provision/order-42").unwrap();
/// assert!(bytes.starts_with(b"resilience-checkpoint 2 crc32="));
/// assert_eq!(decode(&bytes, "memory:Provision/order-42").unwrap(), ("order-42".to_owned(), checkpoint));
///
/// // Without inputs: version 1, as an older build wrote it.
/// let old = Checkpoint::new("Provision", 0xfeed_beef, 1, Phase::Running, b"{}".to_vec());
/// let bytes = encode("order-7", &old, "memory:Provision/order-7").unwrap();
/// assert!(bytes.starts_with(b"resilience-checkpoint 1 crc32="));
/// assert_eq!(decode(&bytes, "memory:Provision/order-7").unwrap().1.inputs, None);
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
    let inputs: Option<&RawValue> =
        match &checkpoint.inputs {
            Some(inputs) => Some(serde_json::from_slice(inputs).map_err(|e| {
                CheckpointError::InvalidInputs {
                    location: location.to_owned(),
                    reason: format!("the inputs to save are not valid JSON: {e}"),
                }
            })?),
            None => None,
        };
    let branches = match &checkpoint.branches {
        Some(_) if inputs.is_none() => {
            return Err(CheckpointError::InvalidState {
                location: location.to_owned(),
                reason:
                    "a checkpoint with finished branches records its inputs too (format version 3)"
                        .to_owned(),
            });
        }
        Some(branches) => {
            let mut done = Vec::with_capacity(branches.done.len());
            for (item, output) in &branches.done {
                let output: &RawValue =
                    serde_json::from_slice(output).map_err(|e| CheckpointError::InvalidState {
                        location: location.to_owned(),
                        reason: format!(
                            "the output of branch {item} of step `{}` is not valid JSON: {e}",
                            branches.step
                        ),
                    })?;
                done.push(DoneOut {
                    item: *item,
                    output,
                });
            }
            Some(BranchesOut {
                step: &branches.step,
                done,
            })
        }
        None => None,
    };
    let version = match (&branches, &inputs) {
        (Some(_), _) => VERSION,
        (None, Some(_)) => VERSION_WITHOUT_BRANCHES,
        (None, None) => VERSION_WITHOUT_INPUTS,
    };
    let body = BodyOut {
        workflow: &checkpoint.workflow,
        id,
        fingerprint: format!("{:016x}", checkpoint.fingerprint),
        position: checkpoint.position,
        phase: PhaseRepr::from(&checkpoint.phase),
        state,
        inputs,
        branches,
    };
    let mut body = serde_json::to_vec_pretty(&body).map_err(invalid_state)?;
    body.push(b'\n');
    let header = format!(
        "{MAGIC} {version} crc32={:08x} len={}\n",
        crc32fast::hash(&body),
        body.len()
    );
    let mut bytes = Vec::with_capacity(header.len() + body.len());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Reads bytes written by [`encode`], or a checkpoint file of the
/// [`DirectoryStore`](super::DirectoryStore): the workflow id and the
/// checkpoint.
///
/// Checks, in this order: the header line, the format version, the length,
/// the checksum, then the JSON. Never panics, whatever the bytes. Reads
/// version 1 (no inputs: [`Checkpoint::inputs`] is `None`), version 2,
/// version 3 (finished branches of a parallel step), and version 4: the
/// directory store's file of two slots, each holding a checkpoint of
/// version 1 to 3, of which the newer whole one is read (a
/// slot torn by a crash during its write is skipped; a damaged one that may
/// be the newer is an error).
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
/// let err = decode(b"resilience-checkpoint 5 crc32=00000000 len=0\n", "a.checkpoint").unwrap_err();
/// assert!(matches!(err, CheckpointError::UnknownVersion { version: 5, .. }));
/// assert_eq!(
///     err.to_string(),
///     "a.checkpoint: unknown checkpoint format version 5 (this build reads versions 1 to 4)"
/// );
/// ```
pub fn decode(bytes: &[u8], location: &str) -> Result<(String, Checkpoint), CheckpointError> {
    if bytes.starts_with(slots::MAGIC) {
        let newest = slots::newest(slots::scan(bytes, location)?, location)?;
        return decode_checkpoint(&newest.payload, location);
    }
    decode_checkpoint(bytes, location)
}

/// [`decode`] of a checkpoint of version 1 to 3 (what [`encode`] writes,
/// and what each slot of a version 4 file holds).
fn decode_checkpoint(
    bytes: &[u8],
    location: &str,
) -> Result<(String, Checkpoint), CheckpointError> {
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
    if !(VERSION_WITHOUT_INPUTS..=VERSION).contains(&version) {
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
    let inputs = match (version, body.inputs) {
        (VERSION_WITHOUT_INPUTS, None) => None,
        (VERSION_WITHOUT_INPUTS, Some(_)) => {
            return Err(corrupt(format!(
                "a version {VERSION_WITHOUT_INPUTS} checkpoint has no `inputs` field, but this one has"
            )));
        }
        (_, Some(inputs)) => Some(inputs.get().as_bytes().to_vec()),
        (_, None) => {
            return Err(corrupt(format!(
                "bad JSON body: missing field `inputs` (required in version {version})"
            )));
        }
    };
    let branches = match (version, body.branches) {
        (VERSION, Some(branches)) => Some(FinishedBranches {
            step: branches.step,
            done: branches
                .done
                .into_iter()
                .map(|done| (done.item, done.output.get().as_bytes().to_vec()))
                .collect(),
        }),
        (VERSION, None) => {
            return Err(corrupt(format!(
                "bad JSON body: missing field `branches` (required in version {VERSION})"
            )));
        }
        (_, Some(_)) => {
            return Err(corrupt(format!(
                "a version {version} checkpoint has no `branches` field, but this one has"
            )));
        }
        (_, None) => None,
    };
    let checkpoint = Checkpoint {
        workflow: body.workflow,
        fingerprint,
        position: body.position,
        phase: body.phase.into(),
        state: body.state.get().as_bytes().to_vec(),
        inputs,
        branches,
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

    fn with_inputs() -> Checkpoint {
        sample().with_inputs(br#"{"topic":"cats \u00e9","depth":2}"#.to_vec())
    }

    /// `bytes` with its body replaced by `edit(body)` and the header's
    /// length and checksum recomputed: damage that passes the checksum.
    fn rebody(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
        let text = std::str::from_utf8(bytes).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        let version = header.split(' ').nth(1).unwrap();
        let body = edit(body);
        format!(
            "{MAGIC} {version} crc32={:08x} len={}\n{body}",
            crc32fast::hash(body.as_bytes()),
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn version_2_round_trips_the_inputs_byte_for_byte() {
        let checkpoint = with_inputs();
        let bytes = encode("id-2", &checkpoint, "t").unwrap();
        assert!(bytes.starts_with(b"resilience-checkpoint 2 crc32="));
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.contains(r#""inputs": {"topic":"cats \u00e9","depth":2}"#),
            "{text}"
        );
        let (id, back) = decode(&bytes, "t").unwrap();
        assert_eq!(id, "id-2");
        assert_eq!(back, checkpoint);
    }

    #[test]
    fn version_1_is_written_without_inputs_and_read_as_none() {
        let checkpoint = sample();
        assert_eq!(checkpoint.inputs, None);
        let bytes = encode("id-1", &checkpoint, "t").unwrap();
        assert!(bytes.starts_with(b"resilience-checkpoint 1 crc32="));
        assert!(!std::str::from_utf8(&bytes).unwrap().contains("inputs"));
        assert_eq!(
            decode(&bytes, "t").unwrap(),
            ("id-1".to_owned(), checkpoint)
        );
    }

    #[test]
    fn a_version_1_file_of_an_older_build_is_read() {
        // As the previous release wrote it, byte for byte.
        let body = concat!(
            "{\n",
            "  \"workflow\": \"Research\",\n",
            "  \"id\": \"r1\",\n",
            "  \"fingerprint\": \"00000000feedbeef\",\n",
            "  \"position\": 1,\n",
            "  \"phase\": \"running\",\n",
            "  \"state\": {\"AfterPlan\":{\"plan\":[\"a\"]}}\n",
            "}\n"
        );
        let bytes = format!(
            "resilience-checkpoint 1 crc32={:08x} len={}\n{body}",
            crc32fast::hash(body.as_bytes()),
            body.len()
        );
        let (id, checkpoint) = decode(bytes.as_bytes(), "t").unwrap();
        assert_eq!(id, "r1");
        assert_eq!(checkpoint.inputs, None);
        assert_eq!(checkpoint.fingerprint, 0xfeed_beef);
        assert_eq!(checkpoint.state, br#"{"AfterPlan":{"plan":["a"]}}"#);
        // Encoded again, it is the same file.
        assert_eq!(encode("r1", &checkpoint, "t").unwrap(), bytes.as_bytes());
    }

    #[test]
    fn every_damaged_inputs_field_is_a_typed_error_naming_the_location() {
        let good = encode("id", &with_inputs(), "t").unwrap();
        let good_text = std::str::from_utf8(&good).unwrap();
        let inputs_line = good_text
            .lines()
            .find(|line| line.contains("\"inputs\""))
            .unwrap()
            .to_owned();
        let state_line = good_text
            .lines()
            .find(|line| line.contains("\"state\""))
            .unwrap()
            .to_owned();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "inputs not JSON",
                rebody(&good, |b| {
                    b.replace(&inputs_line, r#"  "inputs": {"topic": cats}"#)
                }),
            ),
            (
                "inputs missing in version 2",
                rebody(&good, |b| b.replace(&format!(",\n{inputs_line}"), "")),
            ),
            (
                "inputs in version 1",
                good_text
                    .replacen("resilience-checkpoint 2", "resilience-checkpoint 1", 1)
                    .into_bytes(),
            ),
            (
                "inputs twice",
                rebody(&good, |b| {
                    b.replace(&state_line, &format!("{inputs_line},\n{state_line}"))
                }),
            ),
        ];
        for (what, bytes) in cases {
            let err = decode(&bytes, "memory:Research/r1").unwrap_err();
            assert!(
                matches!(err, CheckpointError::Corrupt { .. }),
                "{what}: {err:?}"
            );
            assert_eq!(err.location(), "memory:Research/r1", "{what}");
            assert!(
                err.to_string()
                    .starts_with("memory:Research/r1: corrupt checkpoint: "),
                "{what}: {err}"
            );
        }
        // Flipped bits inside the inputs: the checksum catches them.
        let mut flipped = good.clone();
        let at = good_text.find("cats").unwrap();
        flipped[at] ^= 0x01;
        let err = decode(&flipped, "memory:Research/r1").unwrap_err();
        assert!(matches!(err, CheckpointError::Checksum { .. }), "{err:?}");
        // Cut anywhere, inputs included: truncated.
        for cut in 0..good.len() {
            match decode(&good[..cut], "t") {
                Err(CheckpointError::Truncated { .. }) => {}
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    fn with_branches() -> Checkpoint {
        with_inputs().with_branches(FinishedBranches::new(
            "summaries",
            vec![(3, br#"{"text":"C"}"#.to_vec()), (0, b"\"A\"".to_vec())],
        ))
    }

    #[test]
    fn version_3_round_trips_the_finished_branches_in_completion_order() {
        let checkpoint = with_branches();
        let bytes = encode("id-3", &checkpoint, "t").unwrap();
        assert!(bytes.starts_with(b"resilience-checkpoint 3 crc32="));
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.contains(r#""step": "summaries""#), "{text}");
        assert!(text.contains(r#""output": {"text":"C"}"#), "{text}");
        assert_eq!(
            decode(&bytes, "t").unwrap(),
            ("id-3".to_owned(), checkpoint)
        );
        // Without branches, the same checkpoint is version 2 as before.
        let mut between_steps = with_branches();
        between_steps.branches = None;
        let bytes = encode("id-3", &between_steps, "t").unwrap();
        assert!(bytes.starts_with(b"resilience-checkpoint 2 crc32="));
        assert!(!std::str::from_utf8(&bytes).unwrap().contains("branches"));
    }

    #[test]
    fn every_damaged_branches_field_is_a_typed_error() {
        let good = encode("id", &with_branches(), "t").unwrap();
        let good_text = std::str::from_utf8(&good).unwrap().to_owned();
        let v2 = encode("id", &with_inputs(), "t").unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "branches in version 2",
                good_text
                    .replacen("resilience-checkpoint 3", "resilience-checkpoint 2", 1)
                    .into_bytes(),
            ),
            (
                "version 3 without branches",
                std::str::from_utf8(&v2)
                    .unwrap()
                    .replacen("resilience-checkpoint 2", "resilience-checkpoint 3", 1)
                    .into_bytes(),
            ),
            (
                "an unknown field in a branch",
                rebody(&good, |b| {
                    b.replacen(r#""item": 3,"#, r#""item": 3, "by": "x","#, 1)
                }),
            ),
            (
                "an item that is not an index",
                rebody(&good, |b| b.replacen(r#""item": 3"#, r#""item": -3"#, 1)),
            ),
        ];
        for (what, bytes) in cases {
            let err = decode(&bytes, "memory:Digest/d1").unwrap_err();
            assert!(
                matches!(err, CheckpointError::Corrupt { .. }),
                "{what}: {err:?}"
            );
            assert_eq!(err.location(), "memory:Digest/d1", "{what}");
        }
        // Branches need the inputs beside them.
        let mut no_inputs = with_branches();
        no_inputs.inputs = None;
        let err = encode("id", &no_inputs, "memory:Digest/d1").unwrap_err();
        assert!(
            matches!(err, CheckpointError::InvalidState { .. }),
            "{err:?}"
        );
        // An output that is not JSON is refused on the way out.
        let mut bad = with_branches();
        bad.branches.as_mut().unwrap().done[0].1 = b"{nope".to_vec();
        let err = encode("id", &bad, "memory:Digest/d1").unwrap_err();
        assert!(
            err.to_string()
                .contains("the output of branch 3 of step `summaries` is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn null_inputs_round_trip_as_present() {
        let checkpoint = sample().with_inputs(b"null".to_vec());
        let bytes = encode("id", &checkpoint, "t").unwrap();
        assert!(bytes.starts_with(b"resilience-checkpoint 2 "));
        assert_eq!(decode(&bytes, "t").unwrap().1, checkpoint);
    }

    #[test]
    fn inputs_must_be_json() {
        let checkpoint = sample().with_inputs(b"{not json".to_vec());
        let err = encode("id", &checkpoint, "memory:P/id").unwrap_err();
        assert!(
            matches!(err, CheckpointError::InvalidInputs { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(
                "memory:P/id: invalid workflow inputs: the inputs to save are not valid JSON: "
            ),
            "{err}"
        );
    }
}

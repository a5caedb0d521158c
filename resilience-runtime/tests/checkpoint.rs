//! Checkpoint stores: round trips, ownership (in this process and across
//! processes), every kind of bad input, listing, discarding, events.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use resilience_runtime::checkpoint::{
    Checkpoint, CheckpointError, CheckpointLease, CheckpointStore, CompensationRecord,
    DirectoryStore, MemoryStore, Phase, decode, encode,
};
use resilience_runtime::events::Scope;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("resilience-ckpt-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    fn store(&self) -> DirectoryStore {
        DirectoryStore::open(&self.0).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn running(workflow: &str, position: u32) -> Checkpoint {
    Checkpoint::new(
        workflow,
        0xfeed_0000_beef_0001,
        position,
        Phase::Running,
        serde_json::to_vec(
            &serde_json::json!({ "After": { "create": position, "name": "ü\n\"" } }),
        )
        .unwrap(),
    )
}

fn failed(workflow: &str) -> Checkpoint {
    let mut checkpoint = running(workflow, 2);
    checkpoint.phase = Phase::Failed {
        failed_step: "configure".into(),
        failure: "the API is busy".into(),
        compensations: vec![
            CompensationRecord::new("reserve", Err("503".into())),
            CompensationRecord::new("create", Ok(())),
        ],
    };
    checkpoint
}

fn compensating(workflow: &str) -> Checkpoint {
    let mut checkpoint = running(workflow, 2);
    checkpoint.phase = Phase::Compensating {
        failed_step: "configure".into(),
        failure: "timeout".into(),
        compensations: vec![],
    };
    checkpoint
}

/// The path of a checkpoint file in `dir`, canonicalised like the store's.
fn file(store: &DirectoryStore, workflow: &str, id: &str) -> PathBuf {
    store.path().join(format!("{workflow}.{id}.checkpoint"))
}

/// Asserts that `err`'s message starts with `location` and contains `words`.
#[track_caller]
fn assert_names(err: &CheckpointError, location: &str, words: &str) {
    let text = err.to_string();
    assert_eq!(err.location(), location);
    assert!(text.starts_with(&format!("{location}: ")), "{text}");
    assert!(text.contains(words), "{text:?} should contain {words:?}");
}

#[tokio::test]
async fn directory_round_trip_of_every_phase() {
    let tmp = TempDir::new("round-trip");
    let store = tmp.store();
    let lease = store.claim("Provision", "order-42").await.unwrap();
    assert_eq!(store.load(&lease).await.unwrap(), None);
    for checkpoint in [
        running("Provision", 1),
        compensating("Provision"),
        failed("Provision"),
    ] {
        store.save(&lease, &checkpoint).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap(), Some(checkpoint));
    }
    // It survives the lease and the store: a new process would see this.
    drop(lease);
    let store = DirectoryStore::open(&tmp.0).unwrap();
    let lease = store.claim("Provision", "order-42").await.unwrap();
    assert_eq!(store.load(&lease).await.unwrap(), Some(failed("Provision")));
    assert_eq!(
        lease.location(),
        file(&store, "Provision", "order-42").display().to_string()
    );
    let names: Vec<_> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[tokio::test]
async fn memory_round_trip_and_shared_clones() {
    let store = MemoryStore::new();
    let lease = store.claim("Provision", "7").await.unwrap();
    for checkpoint in [running("Provision", 1), failed("Provision")] {
        store.save(&lease, &checkpoint).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap(), Some(checkpoint));
    }
    // A clone is the same store: it sees the checkpoint and the lease.
    let clone = store.clone();
    assert!(matches!(
        clone.claim("Provision", "7").await,
        Err(CheckpointError::Locked { .. })
    ));
    let bytes = clone.get_raw("Provision", "7").unwrap();
    assert_eq!(
        decode(&bytes, "x").unwrap(),
        ("7".to_owned(), failed("Provision"))
    );
}

#[tokio::test]
async fn a_file_is_readable_and_says_its_version_and_checksum() {
    let tmp = TempDir::new("readable");
    let store = tmp.store();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &failed("Provision")).await.unwrap();
    let bytes = std::fs::read(lease.location()).unwrap();
    // Two slots of 4096 bytes; the first save filled slot 0.
    assert_eq!(bytes.len(), 8192);
    let data = slot_data(&bytes[..4096], 1);
    let text = std::str::from_utf8(&data).unwrap();
    let (slot_header, checkpoint) = text.split_once('\n').unwrap();
    let (header, body) = checkpoint.split_once('\n').unwrap();
    assert_eq!(
        slot_header,
        format!("resilience-checkpoint 4 seq=1 len={}", checkpoint.len())
    );
    let crc = format!("crc32={:08x}", crc32fast_hash(body.as_bytes()));
    assert_eq!(
        header,
        format!("resilience-checkpoint 1 {crc} len={}", body.len())
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["workflow"], "Provision");
    assert_eq!(json["id"], "7");
    assert_eq!(json["fingerprint"], "feed0000beef0001");
    assert_eq!(json["position"], 2);
    assert_eq!(json["state"]["After"]["create"], 2);
    assert_eq!(json["phase"]["failed"]["failed_step"], "configure");
    assert_eq!(
        json["phase"]["failed"]["compensations"][0]["outcome"]["failed"],
        "503"
    );
    assert_eq!(json["phase"]["failed"]["compensations"][1]["outcome"], "ok");
    // Slot 1 is zeros until the second save.
    assert!(bytes[4096..].iter().all(|&b| b == 0));
}

/// The data of the sectors of `slot` written by write `seq`, joined and cut
/// at the announced length, checking every sector's trailer independently:
/// 500 bytes of data, the sequence number (u64 LE), the CRC-32 of both and
/// of the sector's index (u32 LE).
fn slot_data(slot: &[u8], seq: u64) -> Vec<u8> {
    let mut data = Vec::new();
    for (index, sector) in slot.chunks(512).enumerate() {
        if sector.iter().all(|&b| b == 0) {
            break;
        }
        assert_eq!(sector[500..508], seq.to_le_bytes(), "sector {index}");
        let mut covered = sector[..508].to_vec();
        covered.extend_from_slice(&(index as u32).to_le_bytes());
        assert_eq!(
            sector[508..],
            crc32fast_hash(&covered).to_le_bytes(),
            "sector {index}"
        );
        data.extend_from_slice(&sector[..500]);
    }
    let line = data.iter().position(|&b| b == b'\n').unwrap();
    let len: usize = std::str::from_utf8(&data[..line])
        .unwrap()
        .rsplit_once("len=")
        .unwrap()
        .1
        .parse()
        .unwrap();
    data.truncate(line + 1 + len);
    data
}

/// CRC-32 (IEEE), bit by bit: an independent check of the header.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Writes `bytes` as the checkpoint of `Provision`/`7`, then loads it.
async fn load_file(
    store: &DirectoryStore,
    bytes: &[u8],
) -> Result<Option<Checkpoint>, CheckpointError> {
    std::fs::write(file(store, "Provision", "7"), bytes).unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.load(&lease).await
}

/// A valid file's bytes, split into header and body.
fn valid(workflow: &str, id: &str) -> (Vec<u8>, Vec<u8>) {
    let bytes = encode(id, &failed(workflow), "x").unwrap();
    let end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    (bytes[..end].to_vec(), bytes[end..].to_vec())
}

/// `body` with a correct header.
fn with_header(body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "resilience-checkpoint 1 crc32={:08x} len={}\n",
        crc32fast_hash(body),
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn each_bad_file_is_its_own_error_naming_the_file() {
    let tmp = TempDir::new("bad");
    let store = tmp.store();
    let path = file(&store, "Provision", "7").display().to_string();
    let (header, body) = valid("Provision", "7");
    let whole = [header.clone(), body.clone()].concat();
    assert_eq!(
        load_file(&store, &whole).await.unwrap(),
        Some(failed("Provision"))
    );

    // Truncated: the body is cut short.
    let err = load_file(&store, &whole[..whole.len() - 10])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CheckpointError::Truncated { expected: Some(n), found, .. } if n == body.len() as u64 && found == n - 10
    ));
    assert_names(&err, &path, "truncated checkpoint: the header announces");

    // Truncated: inside the header line; an empty file.
    for cut in [0, 10, header.len() - 1] {
        let err = load_file(&store, &whole[..cut]).await.unwrap_err();
        assert!(
            matches!(err, CheckpointError::Truncated { expected: None, .. }),
            "{err}"
        );
        assert_names(&err, &path, "the header line is cut off");
    }

    // Corrupt: trailing garbage.
    let err = load_file(&store, &[&whole[..], b"xx"].concat())
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_names(&err, &path, "2 bytes of trailing garbage");

    // Corrupt: not a checkpoint at all.
    let err = load_file(&store, b"{\"hello\": 1}\n").await.unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_names(
        &err,
        &path,
        "corrupt checkpoint: it does not start with `resilience-checkpoint`",
    );

    // Corrupt: a bad header line.
    let err = load_file(
        &store,
        &[&b"resilience-checkpoint 1 crc=0 len=1\n"[..], b"x"].concat(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_names(&err, &path, "malformed header line");

    // Corrupt: bad JSON, with the parser's message.
    let err = load_file(&store, &with_header(b"{\"workflow\": "))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_names(&err, &path, "bad JSON body: EOF while parsing");

    // Corrupt: a missing field, with the parser's message.
    let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json.as_object_mut().unwrap().remove("position");
    let err = load_file(&store, &with_header(&serde_json::to_vec(&json).unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_names(&err, &path, "bad JSON body: missing field `position`");

    // Corrupt: an unknown field, a bad fingerprint.
    let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["extra"] = 1.into();
    let err = load_file(&store, &with_header(&serde_json::to_vec(&json).unwrap()))
        .await
        .unwrap_err();
    assert_names(&err, &path, "unknown field `extra`");
    let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["fingerprint"] = 42.into();
    let err = load_file(&store, &with_header(&serde_json::to_vec(&json).unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["fingerprint"] = "xyz".into();
    let err = load_file(&store, &with_header(&serde_json::to_vec(&json).unwrap()))
        .await
        .unwrap_err();
    assert_names(
        &err,
        &path,
        "the fingerprint \"xyz\" is not 16 lowercase hex digits",
    );

    // Checksum: one byte of the body changed.
    let mut flipped = whole.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x20;
    let err = load_file(&store, &flipped).await.unwrap_err();
    assert!(matches!(err, CheckpointError::Checksum { expected, found, .. } if expected != found));
    assert_names(&err, &path, "checksum mismatch: the header says crc32=");

    // Unknown format version.
    let future = [&b"resilience-checkpoint 5 sha256=abc len=2\n"[..], b"{}"].concat();
    let err = load_file(&store, &future).await.unwrap_err();
    assert!(matches!(
        err,
        CheckpointError::UnknownVersion { version: 5, .. }
    ));
    assert_names(
        &err,
        &path,
        "unknown checkpoint format version 5 (this build reads versions 1 to 4)",
    );

    // Another workflow's checkpoint (a file copied by hand).
    let (header, body) = valid("Deploy", "7");
    let err = load_file(&store, &[header, body].concat())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CheckpointError::WrongWorkflow { ref expected, ref found, .. } if expected == "Provision" && found == "Deploy"
    ));
    assert_names(
        &err,
        &path,
        "this is a checkpoint of workflow `Deploy`, not of `Provision`",
    );

    // Another id's checkpoint.
    let (header, body) = valid("Provision", "8");
    let err = load_file(&store, &[header, body].concat())
        .await
        .unwrap_err();
    assert!(matches!(err, CheckpointError::WrongId { .. }));
    assert_names(&err, &path, "this is the checkpoint of id `8`, not of `7`");

    // A checkpoint of a changed definition: `verify`.
    let checkpoint = load_file(&store, &whole).await.unwrap().unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    assert!(
        checkpoint
            .verify(lease.location(), "Provision", checkpoint.fingerprint)
            .is_ok()
    );
    let err = checkpoint
        .verify(lease.location(), "Provision", 1)
        .unwrap_err();
    assert!(matches!(
        err,
        CheckpointError::DefinitionChanged {
            expected: 1,
            found: 0xfeed_0000_beef_0001,
            ..
        }
    ));
    assert_names(
        &err,
        &path,
        "the definition of workflow `Provision` changed since this checkpoint was written \
         (fingerprint feed0000beef0001, now 0000000000000001)",
    );
    let err = checkpoint
        .verify(lease.location(), "Deploy", checkpoint.fingerprint)
        .unwrap_err();
    assert!(matches!(err, CheckpointError::WrongWorkflow { .. }));

    // None of this removed the file: nothing is silently thrown away.
    assert!(Path::new(&path).exists());
}

#[tokio::test]
async fn every_truncation_of_a_valid_checkpoint_is_truncated() {
    let memory = MemoryStore::new();
    let lease = memory.claim("Provision", "7").await.unwrap();
    memory.save(&lease, &failed("Provision")).await.unwrap();
    let bytes = memory.get_raw("Provision", "7").unwrap();
    for cut in 0..bytes.len() {
        memory.put_raw("Provision", "7", bytes[..cut].to_vec());
        match memory.load(&lease).await {
            Err(CheckpointError::Truncated { ref location, .. })
                if location == "memory:Provision/7" => {}
            other => panic!("cut at {cut} of {}: {other:?}", bytes.len()),
        }
    }
    // And on disk, through the same code, for a spread of cuts.
    let tmp = TempDir::new("truncations");
    let store = tmp.store();
    for cut in (0..bytes.len()).step_by(7) {
        let err = load_file(&store, &bytes[..cut]).await.unwrap_err();
        assert!(
            matches!(err, CheckpointError::Truncated { .. }),
            "cut at {cut}: {err}"
        );
    }
}

#[tokio::test]
async fn random_bytes_and_random_damage_are_errors_never_panics() {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let memory = MemoryStore::new();
    let lease = memory.claim("Provision", "7").await.unwrap();
    memory.save(&lease, &failed("Provision")).await.unwrap();
    let valid = memory.get_raw("Provision", "7").unwrap();
    let header_len = valid.iter().position(|&b| b == b'\n').unwrap() + 1;

    for round in 0..3000 {
        let bytes: Vec<u8> = match round % 3 {
            // Pure garbage, some of it starting like a checkpoint.
            0 => {
                let len = rng.usize(0..400);
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                if rng.bool() {
                    bytes.splice(0..0, b"resilience-checkpoint 1 ".iter().copied());
                }
                bytes
            }
            // A valid file with 1 to 4 bytes changed.
            1 => {
                let mut bytes = valid.clone();
                for _ in 0..rng.usize(1..=4) {
                    let i = rng.usize(..bytes.len());
                    bytes[i] ^= rng.u8(1..);
                }
                bytes
            }
            // A valid header with a random body of the announced length.
            _ => {
                let mut bytes = valid[..header_len].to_vec();
                bytes.extend((header_len..valid.len()).map(|_| rng.u8(..)));
                bytes
            }
        };
        memory.put_raw("Provision", "7", bytes.clone());
        let result = memory.load(&lease).await;
        assert!(
            result.is_err(),
            "round {round}: {bytes:?} loaded as {result:?}"
        );
        assert_eq!(result.unwrap_err().location(), "memory:Provision/7");
    }
}

#[tokio::test]
async fn a_second_claim_in_this_process_is_locked_until_the_first_is_dropped() {
    let tmp = TempDir::new("claims");
    let store = tmp.store();
    let first = store.claim("Provision", "7").await.unwrap();
    let err = store.claim("Provision", "7").await.unwrap_err();
    assert!(matches!(
        err,
        CheckpointError::Locked { ref workflow, ref id, holder: Some(pid), .. }
            if workflow == "Provision" && id == "7" && pid == std::process::id()
    ));
    let lock = store.path().join("Provision.7.lock").display().to_string();
    assert_names(
        &err,
        &lock,
        &format!(
            "another task of this process (pid {}) is already running workflow `Provision` id `7`",
            std::process::id()
        ),
    );
    // Another id, or another workflow with the same id, is free.
    let _other = store.claim("Provision", "8").await.unwrap();
    let _deploy = store.claim("Deploy", "7").await.unwrap();
    // Another store on the same directory sees the lock too.
    let again = DirectoryStore::open(&tmp.0).unwrap();
    assert!(matches!(
        again.claim("Provision", "7").await,
        Err(CheckpointError::Locked { .. })
    ));
    drop(first);
    let _second = store.claim("Provision", "7").await.unwrap();

    let memory = MemoryStore::new();
    let first = memory.claim("Provision", "7").await.unwrap();
    let err = memory.claim("Provision", "7").await.unwrap_err();
    assert!(matches!(err, CheckpointError::Locked { .. }));
    assert_names(&err, "memory:Provision/7", "another task of this process");
    drop(first);
    assert!(memory.claim("Provision", "7").await.is_ok());
}

/// The env var that makes [`lock_holder_child`] hold a lock.
const CHILD_DIR: &str = "RESILIENCE_TEST_CHECKPOINT_CHILD_DIR";

/// Not a test on its own: run by [`a_claim_held_by_another_process_is_locked`]
/// in a child process, it claims `Provision`/`shared`, says so with a file,
/// and holds the claim until its stdin closes or it is killed.
#[tokio::test]
async fn lock_holder_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = DirectoryStore::open(&dir).unwrap();
    let lease = store.claim("Provision", "shared").await.unwrap();
    std::fs::write(Path::new(&dir).join("child-ready"), b"").unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(lease);
}

/// Kills the child when dropped, even if the test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_claim_held_by_another_process_is_locked_and_dies_with_it() {
    let tmp = TempDir::new("cross-process");
    let store = tmp.store();
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "lock_holder_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, store.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = store.path().join("child-ready");
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child never claimed"
        );
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("the child exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let err = store.claim("Provision", "shared").await.unwrap_err();
    let pid = child.0.id();
    assert!(
        matches!(err, CheckpointError::Locked { holder: Some(holder), .. } if holder == pid),
        "{err}"
    );
    let lock = store
        .path()
        .join("Provision.shared.lock")
        .display()
        .to_string();
    assert_names(
        &err,
        &lock,
        &format!("another process (pid {pid}) is already running workflow `Provision` id `shared`"),
    );
    // Nor can it be discarded from under the running process.
    assert!(matches!(
        store.discard("Provision", "shared").await,
        Err(CheckpointError::Locked { .. })
    ));

    // The lock dies with its process, however it dies.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let lease = store.claim("Provision", "shared").await.unwrap();
    assert_eq!(lease.id(), "shared");
}

#[tokio::test]
async fn discard_is_the_explicit_way_to_throw_a_checkpoint_away() {
    let tmp = TempDir::new("discard");
    let store = tmp.store();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    let path = file(&store, "Provision", "7");
    assert!(path.exists());
    // Not while it runs.
    assert!(matches!(
        store.discard("Provision", "7").await,
        Err(CheckpointError::Locked { .. })
    ));
    drop(lease);
    assert!(store.discard("Provision", "7").await.unwrap());
    assert!(!path.exists());
    assert!(!store.discard("Provision", "7").await.unwrap());
    // A corrupt checkpoint can be discarded without being read.
    std::fs::write(&path, b"garbage").unwrap();
    assert!(store.discard("Provision", "7").await.unwrap());
    assert!(!path.exists());
    // The id is free again afterwards.
    let lease = store.claim("Provision", "7").await.unwrap();
    assert_eq!(store.load(&lease).await.unwrap(), None);

    let memory = MemoryStore::new();
    memory.put_raw("Provision", "7", b"garbage".to_vec());
    assert!(memory.discard("Provision", "7").await.unwrap());
    assert_eq!(memory.get_raw("Provision", "7"), None);
}

#[tokio::test]
async fn delete_removes_the_checkpoint_and_releases_the_id() {
    let tmp = TempDir::new("delete");
    let store = tmp.store();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 2)).await.unwrap();
    store.delete(lease).await.unwrap();
    assert!(!file(&store, "Provision", "7").exists());
    // Deleting a run that never saved is fine too.
    let lease = store.claim("Provision", "7").await.unwrap();
    store.delete(lease).await.unwrap();
}

#[tokio::test]
async fn claims_are_counted_in_the_lock_file_until_the_checkpoint_goes() {
    let tmp = TempDir::new("attempts");
    let store = tmp.store();
    let first = store.claim("Provision", "7").await.unwrap();
    assert_eq!(first.attempt(), Some(1));
    store.save(&first, &running("Provision", 1)).await.unwrap();
    drop(first);
    // Another process (a clone here: the lock is per open file) takes it.
    let second = store.clone().claim("Provision", "7").await.unwrap();
    assert_eq!(second.attempt(), Some(2));
    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed[0].as_ref().unwrap().attempts, Some(2));
    // The holder's pid is still what a refused claim reports.
    let err = store.claim("Provision", "7").await.unwrap_err();
    assert!(
        matches!(err, CheckpointError::Locked { holder: Some(pid), .. } if pid == std::process::id()),
        "{err:?}"
    );
    store.delete(second).await.unwrap();
    let again = store.claim("Provision", "7").await.unwrap();
    let expected = if cfg!(unix) { 1 } else { 3 };
    assert_eq!(again.attempt(), Some(expected));
}

#[tokio::test]
async fn list_unfinished_shows_running_failed_and_unreadable_checkpoints() {
    let tmp = TempDir::new("list");
    let store = tmp.store();
    let a = store.claim("Provision", "a").await.unwrap();
    store.save(&a, &running("Provision", 1)).await.unwrap();
    let b = store.claim("Provision", "b").await.unwrap();
    store.save(&b, &failed("Provision")).await.unwrap();
    let c = store.claim("Deploy", "c").await.unwrap();
    store.save(&c, &compensating("Deploy")).await.unwrap();
    store.delete(c).await.unwrap();
    // A corrupt file, a stale temporary file, a stray file.
    std::fs::write(file(&store, "Provision", "z"), b"garbage").unwrap();
    std::fs::write(store.path().join("Provision.y.checkpoint.tmp"), b"half a").unwrap();
    std::fs::write(store.path().join("notes.txt"), b"hello").unwrap();
    std::fs::write(store.path().join("nodot.checkpoint"), b"x").unwrap();

    let listed = store.list_unfinished().await.unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    let info = |i: usize| listed[i].as_ref().unwrap();
    // Sorted by path: `Provision.a`, `Provision.b`, `Provision.z`, `nodot`.
    assert_eq!(
        (
            info(0).workflow.as_str(),
            info(0).id.as_str(),
            info(0).position,
            &info(0).phase
        ),
        ("Provision", "a", 1, &Phase::Running)
    );
    assert_eq!(
        info(0).location,
        file(&store, "Provision", "a").display().to_string()
    );
    assert_eq!(info(0).fingerprint, 0xfeed_0000_beef_0001);
    assert_eq!(info(1).id, "b");
    assert!(matches!(info(1).phase, Phase::Failed { .. }));
    let err = listed[2].as_ref().unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }));
    assert_eq!(
        err.location(),
        file(&store, "Provision", "z").display().to_string()
    );
    let err = listed[3].as_ref().unwrap_err();
    assert_names(
        err,
        &store.path().join("nodot.checkpoint").display().to_string(),
        "the file name is not `<workflow>.<id>.checkpoint`",
    );

    let memory = MemoryStore::new();
    let lease = memory.claim("Provision", "a").await.unwrap();
    memory.save(&lease, &failed("Provision")).await.unwrap();
    memory.put_raw("Provision", "b", b"garbage".to_vec());
    let listed = memory.list_unfinished().await.unwrap();
    assert!(
        matches!(&listed[0], Ok(info) if info.id == "a" && matches!(info.phase, Phase::Failed { .. }))
    );
    assert!(
        matches!(&listed[1], Err(CheckpointError::Corrupt { location, .. }) if location == "memory:Provision/b")
    );
}

#[tokio::test]
async fn a_stale_temporary_file_is_overwritten() {
    let tmp = TempDir::new("stale");
    let store = tmp.store();
    let tmp_file = store.path().join("Provision.7.checkpoint.tmp");
    std::fs::write(&tmp_file, vec![b'x'; 10_000]).unwrap();
    let lease = store.claim("Provision", "7").await.unwrap();
    store.save(&lease, &running("Provision", 3)).await.unwrap();
    assert!(!tmp_file.exists());
    assert_eq!(
        store.load(&lease).await.unwrap(),
        Some(running("Provision", 3))
    );
}

#[tokio::test]
async fn stores_emit_no_event() {
    // A store only stores: the durable driver reports each save (see the
    // facade's durable tests), so a third-party store need not emit.
    let scope = Scope::new();
    let mut events = scope.subscribe();
    let tmp = TempDir::new("events");
    scope
        .run(async {
            let store = tmp.store();
            let lease = store.claim("EventsFlow", "run-1").await.unwrap();
            store.save(&lease, &running("EventsFlow", 1)).await.unwrap();
            let memory = MemoryStore::new();
            let lease = memory.claim("EventsFlow", "run-2").await.unwrap();
            memory
                .save(&lease, &running("EventsFlow", 5))
                .await
                .unwrap();
        })
        .await;
    assert_eq!(events.try_recv(), None);
}

#[tokio::test]
async fn invalid_names_and_misused_leases_are_typed_errors() {
    let tmp = TempDir::new("names");
    let store = tmp.store();
    let location = store.path().display().to_string();
    for id in ["", "../etc", "a/b", "a\\b", "a\0b", &"x".repeat(201)] {
        let err = store.claim("Provision", id).await.unwrap_err();
        assert!(
            matches!(err, CheckpointError::InvalidId { .. }),
            "{id:?}: {err}"
        );
        assert_names(&err, &location, "invalid workflow id");
    }
    // 200 bytes is a valid id, but not with a long workflow name.
    let err = store
        .claim(&"W".repeat(50), &"x".repeat(200))
        .await
        .unwrap_err();
    assert_names(&err, &location, "longer than 255 bytes");
    let err = store.claim("a.b", "1").await.unwrap_err();
    assert!(matches!(err, CheckpointError::InvalidName { .. }));
    assert!(matches!(
        MemoryStore::new().claim("Provision", "").await,
        Err(CheckpointError::InvalidId { .. })
    ));

    // A checkpoint of another workflow cannot be saved under this lease.
    let lease = store.claim("Provision", "7").await.unwrap();
    let err = store.save(&lease, &running("Deploy", 1)).await.unwrap_err();
    assert!(matches!(err, CheckpointError::WrongWorkflow { .. }));
    // The state must be JSON.
    let mut bad = running("Provision", 1);
    bad.state = b"{oops".to_vec();
    let err = store.save(&lease, &bad).await.unwrap_err();
    assert!(matches!(err, CheckpointError::InvalidState { .. }));
    assert_eq!(store.load(&lease).await.unwrap(), None);
    // A lease of another store.
    let other_dir = TempDir::new("names-other");
    let other = other_dir.store();
    assert!(matches!(
        other.load(&lease).await,
        Err(CheckpointError::ForeignLease { .. })
    ));
    let memory = MemoryStore::new();
    let memory_lease = memory.claim("Provision", "7").await.unwrap();
    assert!(matches!(
        MemoryStore::new()
            .save(&memory_lease, &running("Provision", 1))
            .await,
        Err(CheckpointError::ForeignLease { .. })
    ));
}

/// Polls `future` to completion without a runtime (it must not wait).
fn block_on_without_runtime<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the store waited without a runtime"),
    }
}

#[test]
fn the_directory_store_works_without_a_tokio_runtime() {
    let tmp = TempDir::new("no-runtime");
    let store = tmp.store();
    let lease = block_on_without_runtime(store.claim("Provision", "7")).unwrap();
    block_on_without_runtime(store.save(&lease, &running("Provision", 1))).unwrap();
    assert_eq!(
        block_on_without_runtime(store.load(&lease)).unwrap(),
        Some(running("Provision", 1))
    );
    assert_eq!(
        block_on_without_runtime(store.list_unfinished())
            .unwrap()
            .len(),
        1
    );
    block_on_without_runtime(store.delete(lease)).unwrap();
}

#[tokio::test]
async fn a_dropped_save_never_overwrites_a_later_save_or_a_delete() {
    let tmp = TempDir::new("dropped-save");
    let store = tmp.store();
    let lease = store.claim("Provision", "7").await.unwrap();
    for _ in 0..20 {
        {
            // Start a save of position 1 and drop it half-way.
            let checkpoint = running("Provision", 1);
            let mut save = pin!(store.save(&lease, &checkpoint));
            let _ = save.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }
        store.save(&lease, &running("Provision", 2)).await.unwrap();
        // Let the dropped save finish in the background, if it has not.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.load(&lease).await.unwrap().unwrap().position, 2);
    }
    {
        let checkpoint = running("Provision", 3);
        let mut save = pin!(store.save(&lease, &checkpoint));
        let _ = save.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    }
    store.delete(lease).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!file(&store, "Provision", "7").exists());
    // The lock was released once the background save was done.
    let _ = store.claim("Provision", "7").await.unwrap();
}

#[test]
fn opening_creates_every_missing_level() {
    let base = std::env::temp_dir().join(format!("resilience-nested-{}", std::process::id()));
    let nested = base.join("a").join("b").join("c");
    let store = resilience_runtime::checkpoint::DirectoryStore::open(&nested).expect("open");
    assert!(store.path().is_dir());
    assert!(store.path().ends_with("a/b/c"));
    std::fs::remove_dir_all(&base).expect("clean up");
}

/// The `.lock` files in the store's directory.
fn lock_files(store: &DirectoryStore) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[tokio::test]
async fn lock_files_go_with_their_checkpoints_and_never_pile_up() {
    let tmp = TempDir::new("lock-files");
    let store = tmp.store();
    // 27 runs that finish: no file of theirs is left.
    for id in 0..27 {
        let lease = store.claim("Provision", &id.to_string()).await.unwrap();
        store.save(&lease, &running("Provision", 1)).await.unwrap();
        store.delete(lease).await.unwrap();
    }
    assert_eq!(lock_files(&store), Vec::<String>::new());
    // A run that failed keeps its checkpoint, and its lock file with it;
    // discarding it removes both.
    let lease = store.claim("Provision", "kept").await.unwrap();
    store.save(&lease, &failed("Provision")).await.unwrap();
    drop(lease);
    assert_eq!(lock_files(&store), ["Provision.kept.lock"]);
    assert_eq!(store.remove_stale_locks().await.unwrap(), 0);
    assert!(store.discard("Provision", "kept").await.unwrap());
    assert_eq!(lock_files(&store), Vec::<String>::new());
}

#[cfg(unix)]
#[tokio::test]
async fn stale_lock_files_are_swept_but_never_a_held_one() {
    let tmp = TempDir::new("stale-locks");
    let store = tmp.store();
    let held = store.claim("Provision", "held").await.unwrap();
    drop(store.claim("Provision", "died-early").await.unwrap());
    std::fs::write(store.path().join("Provision.older-version.lock"), b"4242").unwrap();
    assert_eq!(store.remove_stale_locks().await.unwrap(), 2);
    assert_eq!(lock_files(&store), ["Provision.held.lock"]);
    // The held lease still works, and still excludes a second claim.
    store.save(&held, &running("Provision", 1)).await.unwrap();
    assert!(matches!(
        store.claim("Provision", "held").await,
        Err(CheckpointError::Locked { .. })
    ));
    store.delete(held).await.unwrap();
    assert_eq!(lock_files(&store), Vec::<String>::new());
}

/// Many tasks claim, save and delete one id while a sweeper removes stale
/// lock files: a lock file is only removed by its lock's holder, and a
/// claim checks it locked the file of that name, so there is never more
/// than one holder at a time.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_lock_files_never_lets_two_owners_in() {
    let tmp = TempDir::new("lock-race");
    let store = std::sync::Arc::new(tmp.store());
    let holders = std::sync::Arc::new(AtomicU32::new(0));
    let most = std::sync::Arc::new(AtomicU32::new(0));
    let claimed = std::sync::Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, holders, most, claimed) = (
            std::sync::Arc::clone(&store),
            std::sync::Arc::clone(&holders),
            std::sync::Arc::clone(&most),
            std::sync::Arc::clone(&claimed),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..150 {
                let Ok(lease) = store.claim("Provision", "contended").await else {
                    tokio::task::yield_now().await;
                    continue;
                };
                let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                claimed.fetch_add(1, Ordering::SeqCst);
                store.save(&lease, &running("Provision", 1)).await.unwrap();
                holders.fetch_sub(1, Ordering::SeqCst);
                store.delete(lease).await.unwrap();
            }
        }));
    }
    let sweeper = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            for _ in 0..300 {
                store.remove_stale_locks().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    sweeper.await.unwrap();
    assert_eq!(most.load(Ordering::SeqCst), 1, "two owners at once");
    assert!(claimed.load(Ordering::SeqCst) > 0);
    assert_eq!(lock_files(&store), Vec::<String>::new());
}

/// The removal protocol, step by step: a claim that opened the lock file
/// just before its holder removed it, and locks it just after, finds it
/// marked removed (and `claim` then opens the new file of that name).
#[cfg(unix)]
#[tokio::test]
async fn a_lock_file_opened_before_its_removal_is_marked_removed() {
    use std::io::Read;
    let tmp = TempDir::new("tombstone");
    let store = tmp.store();
    let lease = store.claim("Provision", "race").await.unwrap();
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    let lock_path = store.path().join("Provision.race.lock");
    // A racing claimant opened the file, but has not locked it yet.
    let mut early = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    store.delete(lease).await.unwrap();
    assert!(!lock_path.exists());
    // Its lock now succeeds, on a removed file: the mark says so.
    early.try_lock().unwrap();
    let mut text = String::new();
    early.read_to_string(&mut text).unwrap();
    assert_eq!(text, "removed");
    // A claim meanwhile gets the file of that name, not the removed one.
    let again = store.claim("Provision", "race").await.unwrap();
    assert!(lock_path.exists());
    drop(early);
    assert!(matches!(
        store.claim("Provision", "race").await,
        Err(CheckpointError::Locked { .. })
    ));
    drop(again);
}

#[cfg(unix)]
#[tokio::test]
async fn the_sweep_leaves_other_programs_lock_files_alone() {
    let tmp = TempDir::new("foreign-locks");
    let store = tmp.store();
    std::fs::write(store.path().join("npm.lock"), b"").unwrap();
    std::fs::write(store.path().join("no-dot-at-all.lock"), b"").unwrap();
    assert_eq!(store.remove_stale_locks().await.unwrap(), 0);
    assert_eq!(lock_files(&store), ["no-dot-at-all.lock", "npm.lock"]);
}

/// Files of format versions 1 and 2, as older builds wrote them, still
/// load; the next save turns them into the two-slot file, in place after
/// that.
#[tokio::test]
async fn files_of_older_builds_load_and_the_next_save_converts_them() {
    let tmp = TempDir::new("old-layout");
    let store = tmp.store();
    let v1 = running("Provision", 3);
    let v2 = running("Provision", 4).with_inputs(br#"{"spec":"small"}"#.to_vec());
    for (id, checkpoint, version) in [("one", &v1, "1"), ("two", &v2, "2")] {
        let bytes = encode(id, checkpoint, "x").unwrap();
        assert!(bytes.starts_with(format!("resilience-checkpoint {version} ").as_bytes()));
        std::fs::write(file(&store, "Provision", id), &bytes).unwrap();
        let lease = store.claim("Provision", id).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap().as_ref(), Some(checkpoint));
        let listed = store.list_unfinished().await.unwrap();
        assert!(
            listed
                .iter()
                .any(|entry| entry.as_ref().is_ok_and(|info| info.id == id))
        );

        let next = running("Provision", 5);
        store.save(&lease, &next).await.unwrap();
        let converted = std::fs::read(lease.location()).unwrap();
        assert!(
            converted.starts_with(b"resilience-checkpoint 4 seq=1 "),
            "{id}"
        );
        assert_eq!(store.load(&lease).await.unwrap(), Some(next));
        let after = running("Provision", 6);
        store.save(&lease, &after).await.unwrap();
        assert_eq!(
            std::fs::read(lease.location()).unwrap().len(),
            converted.len()
        );
        drop(lease);
        let lease = store.claim("Provision", id).await.unwrap();
        assert_eq!(store.load(&lease).await.unwrap(), Some(after));
    }
}

/// Saves after the first write in place: the file keeps its inode and
/// size, and the slots take turns. A checkpoint that outgrows its slot is
/// written into a new, bigger file, and later saves are in place again.
#[cfg(unix)]
#[tokio::test]
async fn saves_write_in_place_and_a_checkpoint_that_outgrows_its_slot_gets_a_new_file() {
    use std::os::unix::fs::MetadataExt;
    let tmp = TempDir::new("in-place");
    let store = tmp.store();
    let lease = store.claim("Provision", "7").await.unwrap();
    let path = PathBuf::from(lease.location());
    store.save(&lease, &running("Provision", 1)).await.unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    let mut slot_0 = std::fs::read(&path).unwrap()[..4096].to_vec();
    for position in 2..=6 {
        store
            .save(&lease, &running("Provision", position))
            .await
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            (std::fs::metadata(&path).unwrap().ino(), bytes.len()),
            (inode, 8192)
        );
        // Odd saves land in slot 0, even ones in slot 1.
        assert_eq!(bytes[..4096] == slot_0[..], position % 2 == 0, "{position}");
        slot_0 = bytes[..4096].to_vec();
        assert_eq!(
            store.load(&lease).await.unwrap().unwrap().position,
            position
        );
    }
    let mut big = running("Provision", 7);
    big.state = serde_json::to_vec(&serde_json::json!({ "After": "z".repeat(9000) })).unwrap();
    store.save(&lease, &big).await.unwrap();
    let grown = std::fs::metadata(&path).unwrap();
    assert_ne!(grown.ino(), inode, "a new file, renamed over");
    assert!(
        grown.len() >= 2 * 9000 && grown.len() % 8192 == 0,
        "{}",
        grown.len()
    );
    assert_eq!(store.load(&lease).await.unwrap(), Some(big.clone()));
    big.position = 8;
    store.save(&lease, &big).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), grown.ino());
    assert_eq!(store.load(&lease).await.unwrap(), Some(big));
    assert!(!path.with_extension("checkpoint.tmp").exists());
}

/// A listing (another store on the same directory, as a worker loop would
/// use) and loads while saves are written in place: every read is a whole
/// checkpoint, never a sector caught half copied reported as damage.
#[test]
fn reads_while_saves_write_in_place_see_whole_checkpoints() {
    let tmp = TempDir::new("read-while-write");
    let store = tmp.store();
    let lease = block_on_without_runtime(store.claim("Provision", "7")).unwrap();
    block_on_without_runtime(store.save(&lease, &running("Provision", 0))).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (dir, stop) = (store.path().to_owned(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            let other = DirectoryStore::open(&dir).unwrap();
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                for entry in block_on_without_runtime(other.list_unfinished()).unwrap() {
                    let info = entry.unwrap();
                    assert_eq!(info.id, "7");
                }
                reads += 1;
            }
            reads
        })
    };
    for position in 1..=1500 {
        block_on_without_runtime(store.save(&lease, &running("Provision", position))).unwrap();
        if position % 100 == 0 {
            let loaded = block_on_without_runtime(store.load(&lease)).unwrap();
            assert_eq!(loaded.unwrap().position, position);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 10, "only {reads} listings ran beside the saves");
}

//! Checkpoint and resume: a research agent survives a crash (a real one: the
//! process is killed) and picks up where it left off.
//!
//! The agent is a `durable workflow` of five steps: `plan` the queries,
//! `search` for sources, `summarise` them, `review` the summary, `publish`
//! the report. After every step its state (every output so far) is saved to
//! a `DirectoryStore`, atomically and flushed to disk, before the next step
//! starts.
//!
//! - Part 1 runs the agent in a child process (this very example, started
//!   again with an environment variable). The parent relays the child's
//!   output and, once the checkpoint after `summarise` has been saved and
//!   `review` has started, kills the child (SIGKILL on Unix): no destructor,
//!   no flush, no goodbye.
//! - Part 2 looks at what the crash left behind: the checkpoint file's
//!   header line, and the position, phase, state and inputs that
//!   `store.load` reads.
//! - Part 3 runs the same workflow id again, in this process. The three
//!   steps that were checkpointed are not run again: their outputs come from
//!   the checkpoint. `review`, which was interrupted, runs again (steps run
//!   at least once), then `publish`. On success the checkpoint is deleted.
//! - Part 4 keeps a checkpoint on success (`DurableOptions::with_checkpoint_kept`),
//!   flips one bit of it on disk, and shows the typed error that the next
//!   run gets instead of a silent restart; then `store.discard` throws the
//!   damaged checkpoint away.
//! - Part 5 is a worker that finds an abandoned run and knows only its
//!   workflow and id, not the topic it was started with: the child is
//!   killed again, then `ResearchAgent::resume_durable(&store, id)` resumes
//!   it with the inputs the checkpoint recorded. Before that, a resume with
//!   another topic is refused (`DurableError::InputsDiffer`): nothing runs.
//!
//! The model, the search engine and the blog are simulated: they answer
//! after a few tens of milliseconds with fixed text, so every run tells the
//! same story (only the timestamps and the process ids differ), and no
//! network is used. Checkpoints go to a fresh directory under the system's
//! temporary directory, removed at the end.
//!
//! Run it with `cargo run --example checkpoint_resume`.

use std::fmt::Display;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use resilience::checkpoint::{CheckpointError, CheckpointStore, DirectoryStore};
use resilience::durable::{DurableError, DurableOptions};
use resilience::{CheckpointLease, EventKind, events, workflow};
use tokio::time::sleep;

/// Set (to the checkpoint directory) in the child process of part 1.
const CHILD_ENV: &str = "RESILIENCE_EXAMPLE_CHECKPOINT_DIR";

/// The workflow id of parts 1 to 3.
const RUN_ID: &str = "research-42";

/// The workflow id of part 4.
const KEPT_ID: &str = "research-43";

// ---------------------------------------------------------------------------
// The simulated research agent
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
enum ResearchError {
    #[error("the reviewer rejected the summary: {0}")]
    Rejected(String),
}

/// Plays every role of the research team, and records which steps it
/// actually ran (as opposed to restored from a checkpoint).
///
/// A durable workflow saves its inputs in the checkpoint, so the agent is
/// serde: its record is not data (`skip`), and a resume by id alone gets a
/// fresh one.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct Agent {
    #[serde(skip)]
    ran: Arc<Mutex<Vec<&'static str>>>,
}

impl Agent {
    fn ran(&self) -> Vec<&'static str> {
        self.ran.lock().unwrap().clone()
    }

    fn record(&self, step: &'static str) {
        self.ran.lock().unwrap().push(step);
    }

    async fn plan(&self, topic: &str) -> Result<Vec<String>, ResearchError> {
        self.record("plan");
        log("planner", format!("planning research on \"{topic}\" ..."));
        sleep(Duration::from_millis(20)).await;
        let queries = vec![
            format!("{topic} definition"),
            format!("{topic} failure modes"),
            format!("{topic} in production"),
        ];
        log("planner", format!("  ... {} queries", queries.len()));
        Ok(queries)
    }

    async fn search(&self, queries: &[String]) -> Result<Vec<String>, ResearchError> {
        self.record("search");
        log("searcher", format!("running {} queries ...", queries.len()));
        sleep(Duration::from_millis(40)).await;
        let sources = vec![
            "garcia-molina-1987.pdf".to_owned(),
            "temporal.io/blog/durable-execution".to_owned(),
            "dbos.dev/docs/why-dbos".to_owned(),
            "aws.amazon.com/builders-library/idempotency".to_owned(),
        ];
        log("searcher", format!("  ... {} sources", sources.len()));
        Ok(sources)
    }

    async fn summarise(&self, sources: &[String]) -> Result<String, ResearchError> {
        self.record("summarise");
        log(
            "writer",
            format!("summarising {} sources ...", sources.len()),
        );
        sleep(Duration::from_millis(30)).await;
        let summary = "Persist after every step; resume from the last one; \
                       make each step safe to run twice."
            .to_owned();
        log(
            "writer",
            format!("  ... {} words", summary.split(' ').count()),
        );
        Ok(summary)
    }

    async fn review(&self, summary: &str) -> Result<String, ResearchError> {
        self.record("review");
        log("reviewer", "reviewing the summary ...");
        sleep(Duration::from_millis(40)).await;
        if summary.is_empty() {
            return Err(ResearchError::Rejected("it is empty".into()));
        }
        log("reviewer", "  ... approved");
        Ok("approved".to_owned())
    }

    async fn publish(
        &self,
        topic: &str,
        summary: &str,
        verdict: &str,
    ) -> Result<String, ResearchError> {
        self.record("publish");
        log("publisher", format!("publishing ({verdict}) ..."));
        sleep(Duration::from_millis(20)).await;
        let slug = topic.to_lowercase().replace(' ', "-");
        let url = format!("https://notes.example/{slug}");
        log(
            "publisher",
            format!("  ... {url} ({} bytes)", summary.len()),
        );
        Ok(url)
    }
}

workflow! {
    /// Plan, search, summarise, review, publish: a research report.
    durable workflow ResearchAgent(agent: Agent, topic: String) -> Result<String, ResearchError> {
        step plan: Vec<String> = agent.plan(topic).await;
        step search: Vec<String> = agent.search(plan).await;
        step summarise: String = agent.summarise(search).await;
        step review: String = agent.review(summarise).await;
        step publish: String = agent.publish(topic, summarise, review).await;
        format!("{publish} ({} sources, {})", search.len(), review)
    }
}

fn topic() -> String {
    "Durable Execution".to_owned()
}

// ---------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn ms() -> u128 {
    (start().elapsed().as_micros() + 500) / 1000
}

/// Whether this process is the child of part 1: it prints its lines without
/// a timestamp, and the parent stamps them as it relays them.
fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

fn log(who: &str, what: impl Display) {
    if is_child() {
        println!("{who:<9} | {what}");
    } else {
        println!("[{:>4}ms] {who:<9} | {what}", ms());
    }
}

fn heading(title: &str) {
    println!("\n=== {title} ===\n");
}

/// Prints every checkpoint as it is saved.
fn observe_checkpoints() -> events::Observer {
    events::observe(|event| {
        if let EventKind::Checkpointed { .. } = event.kind {
            log("store", event);
        }
    })
}

// ---------------------------------------------------------------------------
// Part 1: the child process, and the parent that kills it
// ---------------------------------------------------------------------------

/// The child: runs workflow `RUN_ID` from the start; it is killed mid-way.
fn child_main(dir: PathBuf) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let _observer = observe_checkpoints();
        let store = DirectoryStore::open(dir).expect("open the checkpoint directory");
        let output = ResearchAgent::new(Agent::default(), topic())
            .run_durable(&store, RUN_ID)
            .await;
        // Not reached: the parent kills this process first.
        log("child", format!("finished: {output:?}"));
    });
}

/// Runs the child, relays its output, and kills it once the checkpoint
/// after step `after` is saved and the next step has started.
fn run_child_and_kill_it(dir: &Path, after: u32) {
    let exe = std::env::current_exe().expect("the example's own path");
    let mut child = Command::new(exe)
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    log(
        "main",
        format!(
            "started child process {} (this example again, with {CHILD_ENV} set)",
            child.id()
        ),
    );
    let saved = format!("checkpointed after {after} steps");
    let mut checkpoint_seen = false;
    let mut killed = false;
    let stdout = child.stdout.take().expect("the child's stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the child's output");
        println!("[{:>4}ms] {line}", ms());
        if killed {
            continue;
        }
        if checkpoint_seen {
            // The next step has just started: crash in the middle of it.
            child.kill().expect("kill the child");
            killed = true;
            log(
                "main",
                format!(
                    "KILL: child killed while step {} (`{}`) was running",
                    after + 1,
                    ResearchAgent::STEPS[after as usize]
                ),
            );
        } else if line.contains(&saved) {
            checkpoint_seen = true;
        }
    }
    let status = child.wait().expect("reap the child");
    log("main", format!("child exited: {status}"));
    if !killed {
        log("main", "(the child finished before it could be killed)");
    }
}

// ---------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child_main(PathBuf::from(dir));
        return;
    }

    let dir = std::env::temp_dir().join(format!(
        "resilience-checkpoint-resume-{}",
        std::process::id()
    ));
    println!("Checkpoint and resume: a research agent is killed mid-way, then resumed.");
    println!("(simulated model, search and blog: no network)\n");
    println!(
        "workflow `{}`, steps: {}",
        ResearchAgent::NAME,
        ResearchAgent::STEPS.join(" -> ")
    );
    println!("checkpoints in {}", dir.display());
    start();

    heading("Part 1: run in a child process, killed after checkpoint 3");
    println!("A real crash: the child process is killed outright (SIGKILL on Unix),");
    println!("not a dropped future. Its lines are relayed and timestamped by the parent.\n");
    run_child_and_kill_it(&dir, 3);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let _observer = observe_checkpoints();
        let store = DirectoryStore::open(&dir).expect("open the checkpoint directory");
        inspect(&store).await;
        resume(&store).await;
        corrupt_and_discard(&store).await;
    });

    heading("Part 5: a worker that knows only the id resumes an abandoned run");
    println!("The child is started and killed again, after checkpoint 2; the worker");
    println!("below has the workflow's name and the id, not the topic.\n");
    run_child_and_kill_it(&dir, 2);
    runtime.block_on(async {
        let _observer = observe_checkpoints();
        let store = DirectoryStore::open(&dir).expect("open the checkpoint directory");
        resume_by_id(&store).await;
    });

    std::fs::remove_dir_all(&dir).expect("remove the checkpoint directory");
    println!("\nremoved {}", dir.display());
    println!("done in {}ms", ms());
}

/// Part 2: what the crash left on disk.
async fn inspect(store: &DirectoryStore) {
    heading("Part 2: what the crash left behind");
    // The OS released the child's lock when it died: the id can be claimed.
    let lease = store
        .claim(ResearchAgent::NAME, RUN_ID)
        .await
        .expect("claim the id");
    let path = lease.location().to_owned();
    let bytes = std::fs::read(&path).expect("read the checkpoint file");
    // Two slots that saves write in turn; each starts with a header line.
    let text = String::from_utf8_lossy(&bytes);
    let mut files: Vec<String> = std::fs::read_dir(store_dir(&path))
        .expect("list the checkpoint directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    println!("  files:    {}", files.join(", "));
    println!("  file:     {}", file_name(&path));
    println!(
        "  header:   {} (the first of its two slots)",
        text.lines().next().unwrap_or_default()
    );
    match store.load(&lease).await {
        Ok(Some(checkpoint)) => {
            let done = &ResearchAgent::STEPS[..checkpoint.position as usize];
            println!(
                "  position: {} (done: {})",
                checkpoint.position,
                done.join(", ")
            );
            println!("  phase:    {}", checkpoint.phase);
            let state = String::from_utf8_lossy(&checkpoint.state);
            println!("  state:    {}", shorten(&state, 96));
            if let Some(inputs) = &checkpoint.inputs {
                let inputs = String::from_utf8_lossy(inputs);
                println!("  inputs:   {}", shorten(&inputs, 96));
            }
        }
        Ok(None) => println!("  no checkpoint: the child died before its first save"),
        Err(error) => println!("  unreadable: {error}"),
    }
    println!("  (the lock file stays; the OS lock on it died with the child)");
    // Dropping the lease lets the next run claim the id.
}

/// Part 3: the same id again, in this process.
async fn resume(store: &DirectoryStore) {
    heading("Part 3: run the same id again: resume from the checkpoint");
    let agent = Agent::default();
    log("main", format!("run_durable(&store, \"{RUN_ID}\")"));
    match ResearchAgent::new(agent.clone(), topic())
        .run_durable(store, RUN_ID)
        .await
    {
        Ok(report) => log("main", format!("report published: {report}")),
        Err(error) => log("main", format!("failed: {error}")),
    }
    let ran = agent.ran();
    let restored: Vec<&str> = ResearchAgent::STEPS
        .iter()
        .copied()
        .filter(|step| !ran.contains(step))
        .collect();
    println!(
        "  restored from the checkpoint, not run again: {}",
        restored.join(", ")
    );
    println!(
        "  run in this process:                       {} (`review` again: it was interrupted)",
        ran.join(", ")
    );
    let left = store.list_unfinished().await.expect("list the checkpoints");
    println!(
        "  checkpoints left after the success:        {}",
        left.len()
    );
}

/// Part 4: a damaged checkpoint is a typed error; `discard` removes it.
async fn corrupt_and_discard(store: &DirectoryStore) {
    heading("Part 4: a damaged checkpoint is an error, not a fresh start");
    let agent = Agent::default();
    let options = DurableOptions::new().with_checkpoint_kept();
    log(
        "main",
        format!("run_durable_with(&store, \"{KEPT_ID}\", with_checkpoint_kept)"),
    );
    match ResearchAgent::new(agent.clone(), topic())
        .run_durable_with(store, KEPT_ID, options)
        .await
    {
        Ok(report) => log("main", format!("report published: {report}")),
        Err(error) => log("main", format!("failed: {error}")),
    }

    let path = store
        .list_unfinished()
        .await
        .expect("list the checkpoints")
        .into_iter()
        .find_map(|entry| entry.ok().filter(|info| info.id == KEPT_ID))
        .map(|info| info.location)
        .expect("the kept checkpoint");
    let mut bytes = std::fs::read(&path).expect("read the checkpoint");
    let needle = b"\"position\": 5";
    let at = bytes
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the position field")
        + needle.len()
        - 1;
    bytes[at] ^= 0x01; // '5' (0x35) becomes '4' (0x34)
    std::fs::write(&path, &bytes).expect("write the checkpoint");
    log(
        "main",
        format!(
            "flipped one bit of {} at byte {at}: `\"position\": 5` now reads `\"position\": 4`",
            file_name(&path)
        ),
    );

    let agent = Agent::default();
    log("main", format!("run_durable(&store, \"{KEPT_ID}\") again"));
    let result = ResearchAgent::new(agent.clone(), topic())
        .run_durable(store, KEPT_ID)
        .await;
    match &result {
        Err(DurableError::Checkpoint(error @ CheckpointError::Checksum { .. })) => {
            log(
                "main",
                "refused with DurableError::Checkpoint(Checksum { .. }):",
            );
            println!("  {error}");
        }
        Err(other) => log("main", format!("refused with another error: {other}")),
        Ok(report) => log("main", format!("unexpectedly succeeded: {report}")),
    }
    println!(
        "  steps run: {} (it did not start over, nor run `publish` again)",
        if agent.ran().is_empty() {
            "none".to_owned()
        } else {
            agent.ran().join(", ")
        }
    );
    println!(
        "  the damaged file is still there to inspect: {}",
        Path::new(&path).exists()
    );

    let discarded = store
        .discard(ResearchAgent::NAME, KEPT_ID)
        .await
        .expect("discard");
    log(
        "main",
        format!(
            "store.discard(\"{}\", \"{KEPT_ID}\") = {discarded}",
            ResearchAgent::NAME
        ),
    );
    let left = store.list_unfinished().await.expect("list the checkpoints");
    println!("  checkpoints left: {}", left.len());
}

/// Part 5: resume by id alone; other inputs are refused.
async fn resume_by_id(store: &DirectoryStore) {
    let other = "Quantum Gardening".to_owned();
    let agent = Agent::default();
    log(
        "main",
        format!("ResearchAgent::new(agent, {other:?}).run_durable(&store, \"{RUN_ID}\")"),
    );
    match ResearchAgent::new(agent.clone(), other)
        .run_durable(store, RUN_ID)
        .await
    {
        Err(error @ DurableError::InputsDiffer { .. }) => {
            log("main", "refused with DurableError::InputsDiffer:");
            println!("  {error}");
        }
        Err(other) => log("main", format!("refused with another error: {other}")),
        Ok(report) => log("main", format!("unexpectedly succeeded: {report}")),
    }
    println!(
        "  steps run: {}",
        if agent.ran().is_empty() {
            "none".to_owned()
        } else {
            agent.ran().join(", ")
        }
    );

    log(
        "main",
        format!("ResearchAgent::resume_durable(&store, \"{RUN_ID}\")"),
    );
    match ResearchAgent::resume_durable(store, RUN_ID).await {
        Ok(report) => log("main", format!("report published: {report}")),
        Err(error) => log("main", format!("failed: {error}")),
    }
    println!("  (the topic came from the checkpoint: the same report as part 3)");
    let left = store.list_unfinished().await.expect("list the checkpoints");
    println!("  checkpoints left after the success: {}", left.len());

    log(
        "main",
        format!("ResearchAgent::resume_durable(&store, \"{RUN_ID}\") once more"),
    );
    match ResearchAgent::resume_durable(store, RUN_ID).await {
        Err(error @ DurableError::NotFound { .. }) => {
            log("main", "DurableError::NotFound:");
            println!("  {error}");
        }
        Err(other) => log("main", format!("another error: {other}")),
        Ok(report) => log("main", format!("unexpectedly succeeded: {report}")),
    }
}

/// The directory of a checkpoint path.
fn store_dir(path: &str) -> &Path {
    Path::new(path).parent().unwrap_or(Path::new("."))
}

/// The last component of a checkpoint path, to keep lines short.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}...")
}

//! Distributed workers: three worker processes share one PostgreSQL, one
//! of them is killed mid-run, and nothing is lost.
//!
//! - The parent submits twelve orders, each a `durable workflow` of three
//!   steps (`reserve` the stock, `charge` the card, `ship` the parcel), to a
//!   `PostgresStore` (`Order::submit_durable`): a checkpoint of no step
//!   done, with the order as its inputs. Nothing runs yet.
//! - It starts three worker processes (this very example, started again
//!   with an environment variable). Each one is a `Worker` that registered
//!   `Order` by name: it finds runs that nobody holds, claims them (a row
//!   lease with a fencing epoch, renewed by a heartbeat) and runs them, two
//!   at a time.
//! - Once a few orders are done, the parent kills `worker-1` with SIGKILL:
//!   no goodbye, its leases are simply no longer renewed. Two seconds later
//!   they lapse, and the other workers take its orders over from their last
//!   checkpoints: the steps already saved are not run again; the step that
//!   was in progress runs again (steps run at least once).
//! - The workers keep the final checkpoint of each order
//!   (`Worker::with_checkpoints_kept`), so the parent reads every receipt
//!   from the store (`Order::resume_durable_with`, which runs no step for
//!   a finished run), even one whose worker died between finishing it and
//!   reporting it; then it discards them.
//! - At the end the parent says, in words, which worker finished which
//!   order, which orders changed hands, and checks that every order was
//!   finished, with the right receipt, and that no checkpoint is left.
//!
//! The shop is simulated (every step takes 300 ms and prints what it did);
//! only the database is real. It is a throwaway PostgreSQL cluster started
//! for the example from the machine's `initdb` and `pg_ctl` (on a unix
//! socket in a temporary directory, removed at the end), or your own
//! database if `DATABASE_URL` is set (it then gets the tables
//! `resilience_schema` and `resilience_checkpoints`; the orders' ids carry
//! this run's process id, so runs do not collide).
//!
//! Run it with `cargo run --example distributed_workers --features postgres`
//! (Debian and Ubuntu: `apt-get install postgresql` for the binaries).

#[path = "../resilience-postgres/tests/support/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use resilience::durable::{DurableError, DurableOptions, Worker};
use resilience::{CheckpointStore, PostgresStore, workflow};

/// Set (to the worker's name) in a worker process.
const WORKER_ENV: &str = "RESILIENCE_EXAMPLE_WORKER";
/// The database, in a worker process.
const DB_ENV: &str = "RESILIENCE_EXAMPLE_DB";

const ORDERS: u32 = 12;
const STEP_TIME: Duration = Duration::from_millis(300);
/// A dead worker's orders are taken over this long after its last
/// heartbeat.
const LEASE: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// The workflow, as every worker runs it
// ---------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
#[error("the shop is closed")]
struct ShopError;

/// One order: the workflow's inputs, saved in its checkpoint, so any worker
/// can run it knowing only its id.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Item {
    id: String,
    n: u32,
    quantity: u32,
    price_cents: u32,
}

impl Item {
    async fn step(&self, step: &str) {
        // Each worker process prints this; the parent reads it.
        println!("step {} {step}", self.id);
        tokio::time::sleep(STEP_TIME).await;
    }

    async fn reserve(&self) -> Result<String, ShopError> {
        self.step("reserve").await;
        Ok(format!("R-{}", 100 + self.n))
    }

    async fn charge(&self, _reservation: &str) -> Result<u32, ShopError> {
        self.step("charge").await;
        Ok(self.quantity * self.price_cents)
    }

    async fn ship(&self, _reservation: &str) -> Result<String, ShopError> {
        self.step("ship").await;
        Ok(format!("TRK-{}", 5000 + self.n))
    }
}

workflow! {
    durable workflow Order(item: Item) -> Result<String, ShopError> {
        step reservation: String = item.reserve().await;
        step charged: u32 = item.charge(reservation).await;
        step tracking: String = item.ship(reservation).await;
        receipt(item.quantity, charged, &tracking)
    }
}

fn receipt(quantity: u32, cents: u32, tracking: &str) -> String {
    format!(
        "{quantity} × widget, ${}.{:02}, parcel {tracking}",
        cents / 100,
        cents % 100
    )
}

fn item(prefix: &str, n: u32) -> Item {
    Item {
        id: format!("{prefix}order-{n:02}"),
        n,
        quantity: 1 + n % 3,
        price_cents: 999,
    }
}

/// A worker process: runs orders until its stdin closes or Ctrl-C.
fn worker_main(name: String) {
    let url = std::env::var(DB_ENV).expect("the database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let store = PostgresStore::connect(&url)
            .await
            .expect("connect")
            .with_lease(LEASE);
        let worker = Worker::new(store)
            .with_name(&name)
            .with_concurrency(2)
            .with_poll_interval(Duration::from_millis(100))
            .with_checkpoints_kept()
            .register_with::<Order>(|id, result| match result {
                Ok(receipt) => println!("finished {id} {receipt}"),
                Err(DurableError::Checkpoint(error)) => println!("stopped {id} {error}"),
                Err(error) => println!("failed {id} {error}"),
            });
        // Stop taking up orders on Ctrl-C, or when the parent closes our
        // stdin; the orders in progress finish first.
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        });
        let shutdown = async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = stdin_closed => {}
            }
        };
        let report = worker.run(shutdown).await;
        println!("report {report}");
    });
}

// ---------------------------------------------------------------------------
// The parent: submits, starts the workers, kills one, tells the story
// ---------------------------------------------------------------------------

struct Process {
    name: &'static str,
    child: Child,
}

fn spawn(name: &'static str, url: &str, lines: &mpsc::Sender<(&'static str, String)>) -> Process {
    let mut child = Command::new(std::env::current_exe().expect("this example"))
        .env(WORKER_ENV, name)
        .env(DB_ENV, url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a worker");
    let stdout = child.stdout.take().expect("its stdout");
    let lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send((name, line)).is_err() {
                break;
            }
        }
    });
    Process { name, child }
}

/// How many of this run's orders have their final checkpoint in the store
/// (looked up at most every 100 ms).
fn finished_in_store(
    runtime: &tokio::runtime::Runtime,
    store: &PostgresStore,
    prefix: &str,
    checked: &mut Instant,
) -> usize {
    static LAST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if checked.elapsed() >= Duration::from_millis(100) {
        *checked = Instant::now();
        let listed = runtime.block_on(store.list_unfinished()).expect("list");
        let done = listed
            .iter()
            .flatten()
            .filter(|info| info.id.starts_with(prefix) && info.position == 3)
            .count();
        LAST.store(done, std::sync::atomic::Ordering::Relaxed);
    }
    LAST.load(std::sync::atomic::Ordering::Relaxed)
}

/// What the parent learns from the workers' lines.
#[derive(Default)]
struct Story {
    /// Per order: the (worker, step) runs, in order.
    steps: BTreeMap<String, Vec<(&'static str, String)>>,
    /// Per order: who finished it, with what receipt.
    finished: BTreeMap<String, Vec<(&'static str, String)>>,
    reports: Vec<(&'static str, String)>,
}

impl Story {
    /// Reads one worker line, prints what it means.
    fn read(&mut self, started: Instant, worker: &'static str, line: &str, killed: Option<&str>) {
        let at = format!("[{:>5.2}s]", started.elapsed().as_secs_f64());
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("step"), Some(id), Some(step)) => {
                let runs = self.steps.entry(id.to_owned()).or_default();
                let before: BTreeSet<&str> = runs.iter().map(|(w, _)| *w).collect();
                if runs.is_empty() {
                    println!("{at} {worker} takes up {id}: {step}");
                } else if !before.contains(worker) {
                    let from = runs.last().map_or("?", |(w, _)| *w);
                    let note = if Some(from) == killed {
                        format!(" ({from} was killed; its lease lapsed)")
                    } else {
                        String::new()
                    };
                    println!("{at} {worker} takes over {id} from {from} at `{step}`{note}");
                }
                runs.push((worker, step.to_owned()));
            }
            (Some("finished"), Some(id), Some(receipt)) => {
                println!("{at} {worker} finished {id}: {receipt}");
                self.finished
                    .entry(id.to_owned())
                    .or_default()
                    .push((worker, receipt.to_owned()));
            }
            (Some("stopped" | "failed"), Some(id), Some(why)) => {
                println!("{at} {worker} stopped {id}: {why}");
            }
            (Some("report"), _, _) => {
                let report = line.trim_start_matches("report ").to_owned();
                self.reports.push((worker, report));
            }
            _ => println!("{at} {worker}: {line}"),
        }
    }

    /// The orders a worker took up and had not finished.
    fn in_progress(&self, worker: &str) -> Vec<String> {
        self.steps
            .iter()
            .filter(|(id, runs)| {
                runs.last().is_some_and(|(w, _)| *w == worker)
                    && !self.finished.contains_key(id.as_str())
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn main() {
    if let Ok(name) = std::env::var(WORKER_ENV) {
        return worker_main(name);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (url, prefix) = match std::env::var("DATABASE_URL") {
        Ok(url) => {
            println!("PostgreSQL: DATABASE_URL");
            (url, format!("{}-", std::process::id()))
        }
        Err(_) => match runtime.block_on(support::database()) {
            Some(url) => {
                println!("PostgreSQL: a throwaway cluster ({url})");
                (url, String::new())
            }
            None => {
                eprintln!(
                    "This example needs PostgreSQL: install it (`apt-get install postgresql`), \
                     or set DATABASE_URL to a database of yours."
                );
                std::process::exit(1);
            }
        },
    };

    println!("\n=== Submitting {ORDERS} orders ===\n");
    let store = runtime.block_on(async {
        let store = PostgresStore::connect(&url).await.expect("connect");
        for n in 1..=ORDERS {
            let item = item(&prefix, n);
            let id = item.id.clone();
            Order::new(item)
                .submit_durable(&store, &id)
                .await
                .expect("submit");
        }
        store
    });
    println!(
        "{ORDERS} checkpoints of no step done, with their orders as inputs; nothing has run yet."
    );

    println!("\n=== Three workers, two orders at a time each ===\n");
    let started = Instant::now();
    let (sender, lines) = mpsc::channel();
    let mut workers: Vec<Process> = ["worker-1", "worker-2", "worker-3"]
        .into_iter()
        .map(|name| spawn(name, &url, &sender))
        .collect();
    drop(sender);
    let mut story = Story::default();
    let mut killed: Option<&'static str> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut checked = Instant::now();
    // Until every order's final checkpoint is in the store.
    while finished_in_store(&runtime, &store, &prefix, &mut checked) < ORDERS as usize {
        assert!(
            Instant::now() < deadline,
            "the orders did not all finish within two minutes"
        );
        let Ok((worker, line)) = lines.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        story.read(started, worker, &line, killed);
        // Once three orders are done, kill worker-1 just after it started
        // charging its next order: in the middle of it.
        if killed.is_none()
            && story.finished.len() >= 3
            && worker == workers[0].name
            && line.starts_with("step ")
            && line.ends_with(" charge")
        {
            let victim = &mut workers[0];
            let in_progress = story.in_progress(victim.name);
            victim.child.kill().expect("SIGKILL");
            victim.child.wait().expect("reap");
            killed = Some(victim.name);
            println!(
                "[{:>5.2}s] >>> killed {} (SIGKILL) while it was running {}",
                started.elapsed().as_secs_f64(),
                victim.name,
                in_progress.join(" and ")
            );
        }
    }
    // Every order is done: stop the live workers (they see their stdin
    // close, as they would see Ctrl-C).
    for process in &mut workers[1..] {
        drop(process.child.stdin.take());
    }
    for process in &mut workers[1..] {
        let status = process.child.wait().expect("wait");
        assert!(status.success(), "{} exited with {status}", process.name);
    }
    for (worker, line) in lines.iter() {
        story.read(started, worker, &line, killed);
    }

    // The receipts, from the kept checkpoints: no step runs. A worker that
    // exits right after a run may not have released its lease (the release
    // is sent as the lease is dropped): then it lapses within the lease's
    // length, and the parent waits for it.
    let kept = DurableOptions::new().with_checkpoint_kept();
    let receipts: BTreeMap<String, String> = runtime.block_on(async {
        let mut receipts = BTreeMap::new();
        for n in 1..=ORDERS {
            let id = item(&prefix, n).id;
            let deadline = tokio::time::Instant::now() + LEASE * 2;
            let receipt = loop {
                match Order::resume_durable_with(&store, &id, kept).await {
                    Err(DurableError::Checkpoint(resilience::CheckpointError::Locked {
                        ..
                    })) if tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => break other.unwrap_or_else(|e| format!("no receipt: {e}")),
                }
            };
            store.discard("Order", &id).await.expect("discard");
            receipts.insert(id, receipt);
        }
        receipts
    });

    println!("\n=== Who did what ===\n");
    let mut by_worker: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in receipts.keys() {
        let runs = &story.steps[id];
        let Some(finishers) = story.finished.get(id) else {
            let last = runs.last().map_or("?", |(w, _)| *w);
            println!(
                "{id}: finished by {last}, which was killed before it could say so; \
                 the receipt comes from the kept checkpoint"
            );
            by_worker.entry(last).or_default().push(id);
            continue;
        };
        by_worker.entry(finishers[0].0).or_default().push(id);
        let hands: BTreeSet<&str> = runs.iter().map(|(w, _)| *w).collect();
        if hands.len() > 1 {
            let before: Vec<&str> = runs
                .iter()
                .filter(|(w, _)| Some(*w) == killed)
                .map(|(_, s)| s.as_str())
                .collect();
            let (saved, in_progress) = before.split_at(before.len() - 1);
            let quoted = |steps: &[&str]| {
                steps
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            let kept = if saved.is_empty() {
                "no step was saved before the kill".to_owned()
            } else {
                format!(
                    "{} (saved before the kill) did not run again",
                    quoted(saved)
                )
            };
            println!(
                "{id}: started by {}, finished by {}; {kept}; {} (in progress at the kill) ran again",
                runs[0].0,
                finishers[0].0,
                quoted(in_progress),
            );
        }
    }
    for (worker, ids) in &by_worker {
        println!("{worker} finished {}: {}", ids.len(), ids.join(", "));
    }
    for (worker, report) in &story.reports {
        println!("{worker} at shutdown: {report}");
    }

    println!("\n=== Nothing was lost ===\n");
    let mut problems = Vec::new();
    for n in 1..=ORDERS {
        let item = item(&prefix, n);
        let want = receipt(
            item.quantity,
            item.quantity * item.price_cents,
            &format!("TRK-{}", 5000 + n),
        );
        let got = &receipts[&item.id];
        if *got != want {
            problems.push(format!("{}: {got}, expected {want}", item.id));
        }
        if story.finished.get(&item.id).is_some_and(|f| f.len() > 1) {
            problems.push(format!("{}: finished twice", item.id));
        }
    }
    // A step ran twice only if the killed worker had it in progress.
    for (id, runs) in &story.steps {
        for (i, (worker, step)) in runs.iter().enumerate() {
            let again = runs[i + 1..].iter().any(|(_, s)| s == step);
            let was_cut_off =
                Some(*worker) == killed && runs[i + 1..].iter().all(|(w, _)| Some(*w) != killed);
            if again && !was_cut_off {
                problems.push(format!(
                    "{id}: `{step}` ran again after {worker} had done it"
                ));
            }
        }
    }
    let left = runtime.block_on(store.list_unfinished()).expect("list");
    let left: Vec<_> = left
        .into_iter()
        .filter(|entry| {
            entry
                .as_ref()
                .map_or(true, |info| info.id.starts_with(&prefix))
        })
        .collect();
    if !left.is_empty() {
        problems.push(format!("checkpoints left: {left:?}"));
    }
    let again: usize = story.steps.values().map(|runs| runs.len() - 3).sum();
    if problems.is_empty() {
        println!(
            "All {ORDERS} orders finished, each with the right receipt; no checkpoint is left. \
             {again} step{} ran twice: {} in progress in {} when it was killed.",
            if again == 1 { "" } else { "s" },
            if again == 1 { "it was" } else { "each was" },
            killed.unwrap_or("the killed worker")
        );
    } else {
        eprintln!("Something was lost:\n{}", problems.join("\n"));
        std::process::exit(1);
    }
}

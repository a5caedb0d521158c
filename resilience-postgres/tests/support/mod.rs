//! A throwaway PostgreSQL cluster for the tests of one test binary.
//!
//! Started once (`initdb`, `pg_ctl -w start`) in a temporary directory, on
//! a unix socket only (no TCP port is opened), as the `postgres` user when
//! the tests run as root (both programs refuse root). A watchdog process
//! stops the cluster and removes the directory when the test binary exits,
//! however it exits. Each test gets a database of its own.
//!
//! No PostgreSQL on the machine: the tests print that they were skipped and
//! how to install it, and pass, unless `RESILIENCE_REQUIRE_POSTGRES=1` (CI
//! sets it), which turns that into a failure.

// Through the store's re-export, so that other crates' tests (the facade's,
// with the `postgres` feature) can include this file without a dependency
// of their own on the driver.
use resilience_postgres::tokio_postgres;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    socket_dir: PathBuf,
    port: u16,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();

/// The cluster, started on first use; `None` if PostgreSQL is not
/// installed (after saying so, once).
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER.get_or_init(start).as_ref()
}

/// A fresh database in the cluster: its connection string. `None`: skip
/// the test.
pub async fn database() -> Option<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster()?;
    let name = format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let admin = cluster.client("postgres").await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    Some(cluster.url(&name))
}

impl Cluster {
    /// The connection string of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={name}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// A plain connection to database `name`, for tests that edit rows by
    /// hand.
    pub async fn client(&self, name: &str) -> tokio_postgres::Client {
        connect(&self.url(name)).await
    }
}

/// A plain connection for `url`.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(connection);
    client
}

fn start() -> Option<Cluster> {
    let Some(bin) = find_bin_dir() else {
        let install = "install it with `apt-get install postgresql` (Debian, Ubuntu) or put \
                       PostgreSQL's bin directory on PATH";
        if std::env::var("RESILIENCE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!(
                "RESILIENCE_REQUIRE_POSTGRES=1 but PostgreSQL is not here: initdb not found; {install}"
            );
        }
        let message = format!("PostgreSQL tests skipped: initdb not found; {install}");
        // Straight to stderr: the test harness captures `eprintln!`.
        let _ = writeln!(std::io::stderr(), "\n{message}\n");
        return None;
    };
    let as_root = output("id", &["-u"]).trim() == "0";
    let dir = std::env::temp_dir().join(format!(
        "resilience-pg-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).expect("create the cluster directory");
    // From here on the directory goes when this process does, whatever
    // happens next.
    watchdog(&bin, &dir, &data, as_root);
    if as_root {
        let uid = output("id", &["-u", "postgres"]).trim().parse().ok();
        let gid = output("id", &["-g", "postgres"]).trim().parse().ok();
        assert!(
            uid.is_some(),
            "running as root, PostgreSQL needs the `postgres` user to run as (apt-get install postgresql creates it)"
        );
        std::os::unix::fs::chown(&dir, uid, gid).expect("give the cluster directory to postgres");
    }
    // Only names the socket file (`-h ''`: no TCP); random so that two
    // clusters never share a name even in one directory.
    let port = 20_000 + u16::try_from(fastrand::u32(..) % 40_000).unwrap();
    let pg = |program: &str| {
        let path = bin.join(program);
        let mut command = if as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        command.stdin(Stdio::null());
        command
    };
    let mut initdb = pg("initdb");
    initdb.arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb");
    let options = format!(
        "-k {} -h '' -p {port} -F -c max_connections=300 -c shared_buffers=16MB",
        dir.display()
    );
    let mut start = pg("pg_ctl");
    start
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "-t", "60", "start"]);
    run(start, "pg_ctl start");
    Some(Cluster {
        socket_dir: dir,
        port,
    })
}

/// Stops the cluster and removes its directory once this process is gone.
fn watchdog(bin: &Path, dir: &Path, data: &Path, as_root: bool) {
    let runuser = if as_root {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; \
         {runuser}'{pg_ctl}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; \
         rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    // Detached (`&` in a shell that exits at once), so that it outlives us
    // and is nobody's child to wait for.
    let status = Command::new("sh")
        .args(["-c", &format!("( {script} ) </dev/null >/dev/null 2>&1 &")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the cluster's watchdog");
    assert!(status.success(), "start the cluster's watchdog: {status}");
}

/// PostgreSQL's bin directory: `initdb` on PATH, `pg_config --bindir`, or
/// Debian's `/usr/lib/postgresql/<version>/bin` (the newest).
fn find_bin_dir() -> Option<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_initdb(dir))
    {
        return Some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_initdb(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_initdb(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn run(mut command: Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

//! The guide's `stress_test` as a small command-line tool.
//!
//! ```text
//! cargo run --release --features load --example load_test -- \
//!     --tasks 1000000 --concurrency 50 --failure-rate 0.05 [--work 100ms..500ms] \
//!     [--rate 20000] [--seed 42] [--json] [--plot latency.svg]
//! ```
//!
//! Each task sleeps for a time drawn from `--work` (none by default) and
//! succeeds; `--failure-rate` of them fail on purpose. It prints a summary
//! table; with `--json` the last line is the report as JSON; with `--plot`
//! it writes an SVG of the latency by percentile. Bad input is an error
//! message and exit code 2.

use std::convert::Infallible;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::time::Duration;

use resilience::load::LoadTest;

const USAGE: &str = "usage: load_test [--tasks N] [--concurrency N] [--failure-rate 0..1] \
[--work MIN..MAX (e.g. 100ms..500ms)] [--rate TASKS_PER_SECOND] [--seed N] [--json] [--plot FILE.svg]";

#[derive(Debug)]
struct Args {
    test: LoadTest,
    work: Option<RangeInclusive<Duration>>,
    seed: u64,
    json: bool,
    plot: Option<String>,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not {what}"))
}

/// `250ms`, `1.5s`, `20us`, `500ns`, `2m`.
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit (ns, us, ms, s or m)"))?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let seconds = match unit {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "`{unit}` in `{text}` is not a unit (ns, us, ms, s or m)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

/// `100ms..500ms` (or one duration for a fixed time).
fn work_range(text: &str) -> Result<RangeInclusive<Duration>, String> {
    let (low, high) = match text.split_once("..") {
        Some((low, high)) => (duration(low)?, duration(high.trim_start_matches('='))?),
        None => {
            let fixed = duration(text)?;
            (fixed, fixed)
        }
    };
    if low > high {
        return Err(format!("`{text}`: the low end is above the high end"));
    }
    Ok(low..=high)
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut test = LoadTest::new();
    let (mut work, mut seed, mut json, mut plot) = (None, None, false, None);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--tasks" => test = test.with_tasks(number(&flag, &value()?, "a whole number")?),
            "--concurrency" => {
                test = test.with_concurrency(number(&flag, &value()?, "a whole number")?)
            }
            "--failure-rate" => {
                test = test.with_failure_rate(number(&flag, &value()?, "a number in 0..1")?)
            }
            "--rate" => {
                test = test.with_rate(number(&flag, &value()?, "a number of tasks per second")?)
            }
            "--seed" => seed = Some(number(&flag, &value()?, "a whole number")?),
            "--work" => work = Some(work_range(&value()?).map_err(|e| format!("--work: {e}"))?),
            "--plot" => plot = Some(value()?),
            "--json" => json = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; expected one of --tasks, --concurrency, \
                     --failure-rate, --work, --rate, --seed, --json, --plot"
                ));
            }
        }
    }
    test.validate().map_err(|e| e.to_string())?;
    let seed = seed.unwrap_or_else(|| fastrand::u64(..));
    Ok(Args {
        test: test.with_seed(seed),
        work,
        seed,
        json,
        plot,
    })
}

/// The simulated work of task `i`: a sleep drawn from the range, the same
/// for the same seed and task.
async fn work(range: Option<&RangeInclusive<Duration>>, seed: u64, i: u64) {
    if let Some(range) = range {
        let (low, high) = (
            range.start().as_nanos() as u64,
            range.end().as_nanos() as u64,
        );
        let ns =
            fastrand::Rng::with_seed(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).u64(low..=high);
        tokio::time::sleep(Duration::from_nanos(ns)).await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let work_text = match &args.work {
        Some(range) => format!("{:?}..{:?} of work", range.start(), range.end()),
        None => "no work".to_owned(),
    };
    println!("Load test: seed {}, each task does {work_text}", args.seed);

    let range = args.work.as_ref();
    let seed = args.seed;
    let report = match args
        .test
        .run(|i| async move {
            work(range, seed, i).await;
            Ok::<_, Infallible>(())
        })
        .await
    {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!();
    print!("{report}");

    if let Some(path) = &args.plot {
        let written = report
            .plot_svg()
            .map_err(|e| e.to_string())
            .and_then(|svg| std::fs::write(path, svg).map_err(|e| e.to_string()));
        match written {
            Ok(()) => println!("latency plot written to {path}"),
            Err(e) => {
                eprintln!("error: cannot write {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if args.json {
        println!("{}", report.to_json());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_set_the_test() {
        let a = args("--tasks 10 --concurrency=3 --failure-rate 0.5 --rate 100 --seed 7 --json --plot p.svg --work 100ms..500ms").unwrap();
        let want = LoadTest::new()
            .with_tasks(10)
            .with_concurrency(3)
            .with_failure_rate(0.5)
            .with_rate(100.0)
            .with_seed(7);
        assert_eq!(a.test, want);
        assert_eq!(
            (a.seed, a.json, a.plot.as_deref()),
            (7, true, Some("p.svg"))
        );
        assert_eq!(
            a.work,
            Some(Duration::from_millis(100)..=Duration::from_millis(500))
        );
        assert_eq!(
            args("--work 1.5s").unwrap().work,
            Some(Duration::from_millis(1500)..=Duration::from_millis(1500))
        );
        assert_eq!(args("").unwrap().work, None);
    }

    #[test]
    fn bad_input_is_a_message() {
        for (line, says) in [
            (
                "--failure-rate 1.5",
                "the failure rate must be between 0 and 1, got 1.5",
            ),
            (
                "--failure-rate -0.1",
                "the failure rate must be between 0 and 1, got -0.1",
            ),
            ("--tasks 0", "the number of tasks must be at least 1"),
            (
                "--concurrency 0",
                "the concurrency limit must be at least 1",
            ),
            ("--rate 0", "the arrival rate must be a positive number"),
            ("--tasks -3", "--tasks: `-3` is not a whole number"),
            (
                "--work 100ms..abc",
                "--work: `abc` does not start with a number",
            ),
            ("--work 100xs..1s", "is not a unit"),
            ("--work 5s..1s", "the low end is above the high end"),
            ("--work ..", "--work: `` has no unit"),
            ("--seed", "--seed needs a value"),
            ("--wat", "unknown argument `--wat`"),
        ] {
            let err = args(line).unwrap_err();
            assert!(err.contains(says), "{line}: {err}");
        }
    }
}

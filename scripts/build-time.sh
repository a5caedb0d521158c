#!/usr/bin/env bash
# What adding `resilience` costs a new project: a fresh tokio binary that uses
# `#[retry] #[timeout]` is built from clean (its own target directory, the
# registry already downloaded), once with `resilience` and once with the same
# logic on `backon`, and the wall time and crate count of each are printed.
#
#   scripts/build-time.sh [--no-default-features]
#
# The last line reads: `build: resilience N s (C crates), backon M s (D crates)`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
features="${1:-}"

make_crate() { # name, dependency line, main.rs
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
tokio = { version = "1", features = ["rt", "macros", "time"] }
$2

[workspace]
TOML
    printf '%s\n' "$3" >"$work/$1/src/main.rs"
}

default_features=""
[ "$features" = "--no-default-features" ] && default_features=", default-features = false"
make_crate with-resilience "resilience = { path = \"$root\"$default_features }" '
use resilience::{retry, timeout};

#[derive(Debug)]
struct Timeout;
impl From<resilience::Elapsed> for Timeout {
    fn from(_: resilience::Elapsed) -> Self { Timeout }
}

#[retry(attempts = 3, delay = "10ms")]
#[timeout("1s")]
async fn ask(n: u32) -> Result<u32, Timeout> { Ok(n + 1) }

#[tokio::main(flavor = "current_thread")]
async fn main() { println!("{:?}", ask(1).await); }'

make_crate with-backon 'backon = { version = "1", default-features = false, features = ["tokio-sleep"] }' '
use std::time::Duration;
use backon::{ExponentialBuilder, Retryable};

#[derive(Debug)]
struct Timeout;

async fn once(n: u32) -> Result<u32, Timeout> {
    tokio::time::timeout(Duration::from_secs(1), async { Ok(n + 1) }).await.map_err(|_| Timeout)?
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ask = || once(1);
    println!("{:?}", ask.retry(ExponentialBuilder::default().with_max_times(2)).await);
}'

measure() { # dir -> "seconds crates"
    (cd "$work/$1" && cargo fetch -q && rm -rf target \
        && start=$(date +%s%N) && cargo build -q && end=$(date +%s%N) \
        && crates=$(cargo tree -e normal,build --prefix none | sort -u | wc -l) \
        && echo "$(( (end - start) / 1000000 )) $crates")
}

read -r ours ours_crates < <(measure with-resilience)
read -r theirs theirs_crates < <(measure with-backon)
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
echo "build: resilience $(secs "$ours") s ($ours_crates crates), backon $(secs "$theirs") s ($theirs_crates crates)"

#!/usr/bin/env bash
# What `#[retry] #[timeout]` costs at compile time: two library crates of N
# async fns each (default 100), one decorated with
# `#[retry(attempts = 3, delay = "10ms")] #[timeout("1s")]`, one with the same
# loop and `tokio::time::timeout` written by hand, built in debug with
# incremental compilation. Dependencies are built once; then each round edits
# one fn's body in both crates and times `cargo build` of each, interleaved.
# The time is CPU time (user + system of cargo and rustc): on a shared,
# loaded machine wall time mostly measures the neighbours. The medians are
# printed (wall time too), and the ratio of the CPU medians on the last line:
#
#   scripts/compile-bench.sh [N_FNS] [ROUNDS]
#
# Last line: `compile: decorated/hand R`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fns="${1:-100}"
rounds="${2:-9}"
# COMPILE_BENCH_DIR keeps the crates (and their built dependencies) there,
# for a closer look; by default a temporary directory is removed at exit.
if [ -n "${COMPILE_BENCH_DIR:-}" ]; then
    work="$COMPILE_BENCH_DIR"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
export CARGO_TARGET_DIR="$work/target"
export CARGO_INCREMENTAL=1

make_crate() { # name, dependency lines
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
tokio = { version = "1", features = ["time"] }
$2

[workspace]
TOML
}

error_type='
#[derive(Debug)]
pub enum Error {
    Refused,
    Timeout,
}

impl From<resilience::Elapsed> for Error {
    fn from(_: resilience::Elapsed) -> Self {
        Error::Timeout
    }
}
'

make_crate decorated "resilience = { path = \"$root\", default-features = false }"
{
    echo 'use resilience::{retry, timeout};'
    echo "$error_type"
    for i in $(seq "$fns"); do
        cat <<RUST
#[retry(attempts = 3, delay = "10ms")]
#[timeout("1s")]
pub async fn ask_$i(n: u32) -> Result<u32, Error> {
    if n == $i {
        return Err(Error::Refused);
    }
    Ok(n + $i) // EDIT
}

RUST
    done
} >"$work/decorated/src/lib.rs"

# The hand-written crate depends on resilience too (for `Elapsed` in the
# shared error type), so both build the same dependency graph.
make_crate hand "resilience = { path = \"$root\", default-features = false }"
{
    echo 'use std::time::Duration;'
    echo "$error_type"
    for i in $(seq "$fns"); do
        cat <<RUST
pub async fn ask_$i(n: u32) -> Result<u32, Error> {
    let mut attempt = 1u32;
    let mut delay = Duration::from_millis(10);
    loop {
        let attempt_result = tokio::time::timeout(Duration::from_secs(1), async {
            if n == $i {
                return Err(Error::Refused);
            }
            Ok(n + $i) // EDIT
        })
        .await;
        let error = match attempt_result {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => Error::Timeout,
        };
        if attempt >= 3 {
            return Err(error);
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

RUST
    done
} >"$work/hand/src/lib.rs"

build() { (cd "$work/$1" && cargo build -q 2>&1); }
# Dependencies and a first full build of each crate.
build decorated >/dev/null
build hand >/dev/null

# Each round changes `Ok(n + 1)` in the first fn to `Ok(n + 1 + k)`: a real
# edit, so that the crate is recompiled incrementally as after a change.
edit() { # crate, round
    sed -i "0,/\/\/ EDIT/s/Ok(n + 1[^)]*) \/\/ EDIT/Ok(n + 1 + $2) \/\/ EDIT/" "$work/$1/src/lib.rs"
}
time_build() { # crate -> "cpu_ms wall_ms"
    (cd "$work/$1" && /usr/bin/time -f '%U %S %e' -o "$work/time" cargo build -q >/dev/null 2>&1)
    awk '{ printf "%d %d\n", ($1 + $2) * 1000, $3 * 1000 }' "$work/time"
}
deco=() deco_wall=() hand=() hand_wall=()
for round in $(seq "$rounds"); do
    edit hand "$round"
    read -r cpu wall < <(time_build hand)
    hand+=("$cpu") hand_wall+=("$wall")
    edit decorated "$round"
    read -r cpu wall < <(time_build decorated)
    deco+=("$cpu") deco_wall+=("$wall")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
d=$(median "${deco[@]}")
h=$(median "${hand[@]}")
echo "decorated: cpu ${deco[*]} ms (median $d), wall median $(median "${deco_wall[@]}") ms"
echo "hand:      cpu ${hand[*]} ms (median $h), wall median $(median "${hand_wall[@]}") ms"
echo "fns: $fns, rounds: $rounds, incremental debug builds of the crate alone"
awk -v d="$d" -v h="$h" 'BEGIN { printf "compile: decorated/hand %.2f\n", d / h }'

#!/usr/bin/env bash
# Runs every test binary of the workspace N times in a row (default 100) and
# reports each binary's failures: a test that fails one run in thirty blocks
# landings at random, and this is how to find it before CI does.
#
#   scripts/repeat-tests.sh [N]
#
# The trybuild ui suite is skipped (it compiles, and is deterministic).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100}"
mapfile -t bins < <(cargo test --workspace --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | grep -v '/ui-')
# Proc-macro test binaries link the toolchain's libstd dynamically.
export LD_LIBRARY_PATH="$(rustc --print target-libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
for bin in "${bins[@]}"; do
    failed=0
    for _ in $(seq "$runs"); do
        "$bin" -q >/dev/null 2>&1 || failed=$((failed + 1))
    done
    printf '%-60s %d/%d failed\n' "$(basename "$bin")" "$failed" "$runs"
    [ "$failed" -eq 0 ] || status=1
done
exit "$status"

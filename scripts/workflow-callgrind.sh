#!/usr/bin/env bash
# Instructions per run of the `workflow` bench's variants, under callgrind:
# the totals at two run counts, differenced, divided by the difference of
# the counts (what the runtime setup costs cancels out). Prints the ratios
# ours/hand. Usage: scripts/workflow-callgrind.sh (builds the bench first).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench --bench workflow --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*workflow-[^"]*"' | tail -1 | cut -d'"' -f4)
small=1000
large=11000
total() {
    local out
    out=$(mktemp)
    WORKFLOW_BENCH_ONLY="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
    callgrind_annotate "$out" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | awk '{gsub(",","",$1); print $1}'
    rm -f "$out"
}
declare -A per_run
for variant in hand_written ours ours_compensate; do
    a=$(total "$variant" "$small")
    b=$(total "$variant" "$large")
    per_run[$variant]=$(( (b - a) / (large - small) ))
    echo "$variant: ${per_run[$variant]} instructions per run"
done
awk -v h="${per_run[hand_written]}" -v o="${per_run[ours]}" -v c="${per_run[ours_compensate]}" 'BEGIN {
    printf "workflow: ours/hand %.2f (instructions)\n", o / h
    printf "workflow with compensation: ours/hand %.2f (instructions)\n", c / h
}'

#!/usr/bin/env bash
# Peak and trend of resident memory of a synthgym command (the process the user started
# and its worker), sampled from /proc every 0.5 s:
#   benches/rss.sh target/release/synthgym train cartpole-v1 --total-steps 500000 -q
# prints one line: the command, seconds, samples, peak RSS, and the RSS at 10%, 50% and
# 100% of the run (flat when the last three agree).
set -euo pipefail
"$@" > /dev/null 2>&1 &
top=$!
samples=()
start=$(date +%s.%N)
while kill -0 "$top" 2>/dev/null; do
    kb=0
    for pid in $top $(pgrep -P "$top" || true); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        kb=$((kb + ${v:-0}))
    done
    [ "$kb" -gt 0 ] && samples+=("$kb")
    sleep 0.5
done
wait "$top" || { echo "command failed: $*" >&2; exit 1; }
end=$(date +%s.%N)
n=${#samples[@]}
[ "$n" -gt 0 ] || { echo "no samples (the command ended within 0.5 s)" >&2; exit 1; }
peak=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
at() { echo "${samples[$(( (n - 1) * $1 / 100 ))]}"; }
printf '%s | %.0f s | %d samples | peak %d MiB | at 10%%/50%%/100%%: %d / %d / %d MiB\n' \
    "$*" "$(echo "$end - $start" | bc)" "$n" $((peak / 1024)) $(( $(at 10) / 1024 )) $(( $(at 50) / 1024 )) $(( $(at 100) / 1024 ))

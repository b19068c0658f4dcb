#!/usr/bin/env bash
# Before/after check for a change that must not alter behaviour or speed: runs two
# synthgym binaries side by side on this machine and compares them.
#   - `synthgym bench` on CartPole, the grid and physics warehouses and the highway,
#     two rounds, alternating binaries (read the steps/s columns against each other);
#   - PPO on CartPole for one seed: steps/s, and metrics.csv compared row by row
#     (every column but steps_per_second must be equal) and the checkpoint byte for byte;
#   - `generate` with one seed: the two datasets compared byte for byte.
# Usage: benches/compare_binaries.sh OLD_BINARY NEW_BINARY [OUT_DIR]
# Both binaries need the `render` feature for the dataset step and a Vulkan driver.
set -euo pipefail
old="$1" new="$2" out="${3:-$(mktemp -d)}"
envs=(cartpole-v1 warehouse-grid-tiny-2ag-v0 warehouse-physics-tiny-2ag-v0 driving-highway-v0)
for round in 1 2; do
    for which in old new; do
        bin="${!which}"
        echo "=== bench $which, round $round"
        "$bin" bench "${envs[@]}" --seconds 1 --num-envs 8,64 2>/dev/null
    done
done
for which in old new; do
    bin="${!which}"
    rm -rf "$out/ppo-$which" "$out/gen-$which"
    echo "=== ppo $which"
    "$bin" train cartpole-v1 --seed 1 --total-steps 200000 --run-dir "$out/ppo-$which" -q | head -1
    "$bin" generate --count 24 --seed 3 --out "$out/gen-$which" -q >/dev/null 2>&1
done
python3 - "$out" <<'PY'
import csv, sys
out = sys.argv[1]
a, b = (list(csv.DictReader(open(f"{out}/ppo-{w}/metrics.csv"))) for w in ("old", "new"))
diff = sum(1 for x, y in zip(a, b) for c in x if c != "steps_per_second" and x[c] != y[c])
print(f"metrics.csv: {len(a)} and {len(b)} rows, {diff} differing values outside steps_per_second")
PY
cmp -s "$out/ppo-old/checkpoint/model.safetensors" "$out/ppo-new/checkpoint/model.safetensors" \
    && echo "checkpoints: byte-identical" || echo "checkpoints: DIFFER"
diff -rq "$out/gen-old" "$out/gen-new" >/dev/null && echo "datasets: byte-identical ($(find "$out/gen-new" -type f | wc -l) files)" \
    || echo "datasets: DIFFER"

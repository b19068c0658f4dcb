"""A labelled image dataset generated in shards by Ray tasks, one `synthgym generate
--shard i/N` per task, into one folder.

Image k of a dataset depends only on the options and k, so the shards can run on any
machines in any order; the shard that finishes last finds every image present and
writes `annotations.json` (COCO) and `manifest.jsonl`. On a cluster, give every node
the `synthgym` binary (built with `cargo build --release --features render`) and a
shared folder for `--out`, and pass `--address auto`.

    python python/examples/ray_generate.py --synthgym target/release/synthgym \\
        --scene warehouse-grid-small-4ag-v0 --count 512 --shards 4 --out datasets/ray-demo
"""
import argparse
import json
import os
import subprocess

import ray


@ray.remote
def generate_shard(synthgym: str, scene: str, count: int, out: str, shard: int, shards: int, size: int) -> str:
    cmd = [synthgym, "generate", scene, "--count", str(count), "--out", out, "--size", str(size),
           "--shard", f"{shard}/{shards}", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shard {shard}/{shards} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--synthgym", default="target/release/synthgym", help="the synthgym binary (built with --features render)")
    p.add_argument("--scene", default="warehouse-grid-small-4ag-v0")
    p.add_argument("--count", type=int, default=256)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--out", default="datasets/ray-demo")
    p.add_argument("--address", default=None, help="a Ray cluster address; default: start a local one")
    a = p.parse_args()
    synthgym = os.path.abspath(a.synthgym)
    out = os.path.abspath(a.out)
    if a.address:
        ray.init(address=a.address)
    else:
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1")
    tasks = [generate_shard.remote(synthgym, a.scene, a.count, out, i, a.shards, a.size) for i in range(a.shards)]
    for i, summary in enumerate(ray.get(tasks)):
        print(f"shard {i}/{a.shards}: {summary.splitlines()[0]}")
    # Every shard has finished; if the last ones finished together, each may have seen
    # the others' images still missing, so a final run merges (it renders nothing).
    if not os.path.exists(os.path.join(out, "annotations.json")):
        print(ray.get(generate_shard.remote(synthgym, a.scene, a.count, out, 0, 1, a.size)).splitlines()[0])
    with open(os.path.join(out, "annotations.json")) as f:
        coco = json.load(f)
    print(f"{out}: {len(coco['images'])} images, {len(coco['annotations'])} annotations")
    ray.shutdown()


if __name__ == "__main__":
    main()

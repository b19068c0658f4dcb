"""Writes tests/data/warehouse_rware.jsonl: rware 2.0 grid transitions.

Each line is one step: on a trajectory's first step the robots before it (x, y,
direction, carried shelf index or -1) and the request queue; then the actions, and rware's robots, rewards, request queue and
(every 10th step) flattened observations, as x, y and a string of 0/1 digits after it. Shelf indices are rware's shelf id
minus one (row-major over non-corridor cells). The scenarios stress collision
resolution (dense robots, mostly FORWARD) and deliveries (goals next to shelves).

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install rware
    /tmp/peers/bin/python tests/data/gen_warehouse_golden.py
"""

import json

import numpy as np
from rware.warehouse import Warehouse, RewardType, Action

SCENARIOS = {
    # name: (layout or None for tiny params, n_agents, queue, reward, P(forward), P(toggle))
    "tiny": (None, 4, 4, RewardType.INDIVIDUAL, 0.2, 0.2),
    "dense": ("x.x.x.\n......\n.x..x.\n......\n..gg..", 12, 3, RewardType.GLOBAL, 0.6, 0.1),
    "deliver": ("x.x.x\n.g.g.\nx.x.x\n.g.g.\nx.x.x", 4, 4, RewardType.TWO_STAGE, 0.35, 0.3),
    "deliver_ind": ("x.x.x\n.g.g.\nx.x.x\n.g.g.\nx.x.x", 6, 3, RewardType.INDIVIDUAL, 0.35, 0.3),
}


def robots(env):
    return [
        [int(a.x), int(a.y), a.dir.value, -1 if a.carrying_shelf is None else int(a.carrying_shelf.id) - 1]
        for a in env.agents
    ]


def queue(env):
    return [int(s.id) - 1 for s in env.request_queue]


out = []
rng = np.random.default_rng(7)
for name, (layout, n, q, reward, p_forward, p_toggle) in SCENARIOS.items():
    for traj in range(8 if name.startswith("deliver") else 4):
        env = Warehouse(3, 8, 1, n, 0, 1, q, None, 120, reward, layout=layout)
        env.reset(seed=100 + traj)
        for t in range(80):
            probs = [(1 - p_forward - p_toggle) / 3] * 5
            probs[Action.FORWARD.value] = p_forward
            probs[Action.TOGGLE_LOAD.value] = p_toggle
            actions = [int(a) for a in rng.choice(5, size=n, p=probs)]
            rec = {"scenario": name, "traj": traj, "t": t, "actions": actions}
            if t == 0:
                rec.update(before=robots(env), queue_before=queue(env))
            obs, rewards, done, _, _ = env.step(actions)
            rec.update(after=robots(env), rewards=[float(r) for r in rewards], done=bool(done), queue_after=queue(env))
            if t % 10 == 0:
                # x, y, then the 0/1 features as a string of digits.
                rec["obs"] = [[int(o[0]), int(o[1]), "".join(str(int(v)) for v in o[2:])] for o in obs]
            out.append(json.dumps(rec, separators=(",", ":")))
with open("tests/data/warehouse_rware.jsonl", "w") as f:
    f.write("\n".join(out) + "\n")
print(len(out), "steps")

"""Peer measurement: rware 2.0 steps per second on this machine, for comparison with
`synthgym bench warehouse-grid-tiny-2ag-v0 warehouse-grid-large-10ag-v0`.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install rware
    /tmp/peers/bin/python benches/peers/rware_grid.py
"""

import time

import gymnasium as gym
import rware  # noqa: F401  (registers the rware ids)


def steps_per_second(env_id: str, seconds: float = 3.0) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        steps += 100
    return steps / (time.perf_counter() - start)


if __name__ == "__main__":
    for env_id in ("rware-tiny-2ag-v2", "rware-large-10ag-v2"):
        print(f"{env_id}: {steps_per_second(env_id):,.0f} steps/s")

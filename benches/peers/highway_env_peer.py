"""Peer measurement: highway-env 1.12 policy steps per second on this machine, for
comparison with `synthgym bench driving-highway-v0 driving-intersection-v0`.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install highway-env
    /tmp/peers/bin/python benches/peers/highway_env_peer.py
"""

import time

import gymnasium as gym
import highway_env  # the script is not named highway_env.py, which would shadow this

gym.register_envs(highway_env)


def steps_per_second(env_id: str, seconds: float = 10.0) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


if __name__ == "__main__":
    for env_id in ("highway-v0", "merge-v0", "intersection-v0", "roundabout-v0", "parking-v0"):
        print(f"{env_id}: {steps_per_second(env_id):,.1f} steps/s")

"""Peer measurement: Gymnasium CartPole-v1 steps per second on this machine.

Mirrors what `synthgym bench cartpole-v1` measures: one env stepped with
pre-sampled random actions, reset when an episode ends, and a synchronous
vector env of N copies. Install the peer into a venv first:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install gymnasium numpy
    /tmp/peers/bin/python benches/peers/gymnasium_cartpole.py
"""

import time

import gymnasium as gym
import numpy as np


def single(seconds: float = 2.0) -> float:
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=4096)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions[:1024]:
            _, _, terminated, truncated, _ = env.step(int(a))
            if terminated or truncated:
                env.reset()
        steps += 1024
    return steps / (time.perf_counter() - start)


def vector(num_envs: int, seconds: float = 2.0) -> float:
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="sync")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=(64, num_envs))
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        steps += 64 * num_envs
    return steps / (time.perf_counter() - start)


if __name__ == "__main__":
    print(f"gymnasium {gym.__version__}")
    print(f"CartPole-v1 single env: {single():,.0f} steps/s")
    for n in (8, 64):
        print(f"CartPole-v1 SyncVectorEnv x{n}: {vector(n):,.0f} steps/s")

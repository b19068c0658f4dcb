"""Env steps per second through Python: synthgym's Rust vector env against Gymnasium's
SyncVectorEnv on CartPole, 64 envs, random actions pre-sampled (as `synthgym bench`).

    python python/examples/bench_vector.py [--num-envs 64] [--seconds 3] [--threads 1]
"""
import argparse
import time

import gymnasium as gym
import numpy as np

import synthgym


def measure(envs, num_envs, seconds, rng):
    envs.reset(seed=0)
    actions = rng.integers(0, 2, size=(256, num_envs))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        steps += len(actions) * num_envs
    return steps / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    ours = measure(synthgym.make_vec("cartpole-v1", a.num_envs, threads=a.threads), a.num_envs, a.seconds, rng)
    sync = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(a.num_envs)])
    theirs = measure(sync, a.num_envs, a.seconds, rng)
    print(f"cartpole x{a.num_envs}: synthgym.make_vec (threads={a.threads}) {ours:,.0f} steps/s; "
          f"gymnasium SyncVectorEnv {theirs:,.0f} steps/s; {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()

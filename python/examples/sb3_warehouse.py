"""Stable-Baselines3 PPO on a synthgym warehouse, unchanged SB3 code: the env is a
plain ``gymnasium.Env`` (here the physics warehouse, one rapier robot with lidar).

    pip install ./python stable-baselines3
    python python/examples/sb3_warehouse.py [--env warehouse-physics-tiny-1ag-v0] [--steps 20000]
"""
import argparse
import time

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import synthgym


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="warehouse-physics-tiny-1ag-v0")
    p.add_argument("--steps", type=int, default=20_000)
    a = p.parse_args()
    env = make_vec_env(lambda: synthgym.make(a.env), n_envs=8, seed=0)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=256, seed=0, device="cpu", verbose=0)
    before, _ = evaluate_policy(model, Monitor(synthgym.make(a.env)), n_eval_episodes=5)
    t0 = time.perf_counter()
    model.learn(a.steps)
    after, std = evaluate_policy(model, Monitor(synthgym.make(a.env)), n_eval_episodes=5)
    print(f"{a.env}: SB3 PPO {a.steps} steps in {time.perf_counter() - t0:.1f} s; "
          f"return {before:.2f} before, {after:.2f} ± {std:.2f} after")


if __name__ == "__main__":
    main()

"""Stable-Baselines3 PPO on CartPole-v1 with rl-zoo hyperparameters: the peer that
`synthgym train cartpole-v1 --config agents/ppo-cartpole.toml` is compared with.

For each seed it trains for --total-steps, evaluates 10 deterministic episodes every
2,048 env steps, and prints the env steps and training seconds (evaluation time
excluded) at which the mean evaluation return first reached 475.

    python3 -m venv venv && venv/bin/pip install stable-baselines3 rl_zoo3
    venv/bin/python benches/peers/sb3_ppo_cartpole.py --seeds 1 2 3 4 5
"""
import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy


def linear(start):
    return lambda progress_remaining: progress_remaining * start


class SolveTimer(BaseCallback):
    def __init__(self, eval_env, every, threshold):
        super().__init__()
        self.eval_env, self.every, self.threshold = eval_env, every, threshold
        self.next_eval, self.eval_seconds, self.start = every, 0.0, None
        self.solved_at = None

    def _on_training_start(self):
        self.start = time.perf_counter()

    def _on_step(self):
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.every
            t0 = time.perf_counter()
            mean, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=10, deterministic=True)
            self.eval_seconds += time.perf_counter() - t0
            if mean >= self.threshold and self.solved_at is None:
                train_s = time.perf_counter() - self.start - self.eval_seconds
                self.solved_at = (self.num_timesteps, train_s, mean)
        return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--total-steps", type=int, default=100_000)
    a = p.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    for seed in a.seeds:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                    ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu")
        cb = SolveTimer(eval_env, 2048, 475.0)
        t0 = time.perf_counter()
        model.learn(a.total_steps, callback=cb)
        total = time.perf_counter() - t0 - cb.eval_seconds
        final, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
        solved = "not solved" if cb.solved_at is None else f"solved at {cb.solved_at[0]} steps, {cb.solved_at[1]:.2f} s (eval {cb.solved_at[2]:.1f})"
        print(f"seed {seed}: {solved}; {a.total_steps} steps in {total:.2f} s training; final eval {final:.1f}", flush=True)


if __name__ == "__main__":
    main()

"""Ray RLlib PPO on a synthgym env with several env runners on a local Ray cluster.

The same script scales out: start Ray on several machines (`ray start --head` on one,
`ray start --address=HEAD:6379` on the others), install this package on each, and run it
with `--address auto` and more `--env-runners`; RLlib places the runners across
machines and each runner steps synthgym envs in Rust.

    pip install ./python "ray[rllib]"
    python python/examples/rllib_ppo.py [--env cartpole-v1] [--iterations 3] [--env-runners 2]
"""
import argparse

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.tune.registry import register_env

import synthgym


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--env", default="cartpole-v1")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--env-runners", type=int, default=2)
    p.add_argument("--address", default=None, help="a Ray cluster address; default: start a local one")
    a = p.parse_args()
    if a.address:
        ray.init(address=a.address)
    else:
        # A local cluster on loopback only.
        ray.init(num_cpus=max(2, a.env_runners + 1), include_dashboard=False, _node_ip_address="127.0.0.1")
    register_env("synthgym", lambda cfg: synthgym.make(cfg["id"]))
    config = (
        PPOConfig()
        .environment("synthgym", env_config={"id": a.env})
        .env_runners(num_env_runners=a.env_runners, num_envs_per_env_runner=4)
        .training(train_batch_size_per_learner=2000, minibatch_size=250, num_epochs=4, lr=1e-3)
    )
    algo = config.build_algo()
    for i in range(a.iterations):
        result = algo.train()
        ret = result.get("env_runners", {}).get("episode_return_mean", float("nan"))
        steps = result.get("num_env_steps_sampled_lifetime", 0)
        print(f"iteration {i + 1}: episode_return_mean {ret:.1f}, env steps {steps}")
    algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()

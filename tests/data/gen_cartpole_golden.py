"""Writes tests/data/cartpole_gymnasium.csv: CartPole-v1 transitions from Gymnasium.

Each row is one step of one trajectory: the full-precision state before the step
(the test sets it before every step and also follows whole trajectories), the action, and
Gymnasium's observation, reward and terminated flag after it. Trajectories start
from random states (some near the thresholds) and keep stepping past termination
for a few steps, so the post-termination reward of 0 is covered too.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install gymnasium numpy
    /tmp/peers/bin/python tests/data/gen_cartpole_golden.py
"""

import gymnasium as gym
import numpy as np

rng = np.random.default_rng(2024)
env = gym.make("CartPole-v1").unwrapped
rows = ["traj,x,x_dot,theta,theta_dot,action,obs0,obs1,obs2,obs3,reward,terminated"]
for traj in range(40):
    env.reset(seed=traj)
    scale = 0.05 if traj < 20 else 0.2
    state = rng.uniform(-scale, scale, size=4)
    env.state = state.copy()
    env.steps_beyond_terminated = None
    steps_after = 0
    for t in range(300):
        action = int(rng.integers(0, 2))
        s = env.state
        obs, reward, terminated, _, _ = env.step(action)
        rows.append(
            f"{traj},{float(s[0])!r},{float(s[1])!r},{float(s[2])!r},{float(s[3])!r},{action},"
            + ",".join(repr(float(o)) for o in obs)
            + f",{reward!r},{int(terminated)}"
        )
        if terminated:
            steps_after += 1
            if steps_after > 3:
                break
with open("tests/data/cartpole_gymnasium.csv", "w") as f:
    f.write("\n".join(rows) + "\n")
print(len(rows) - 1, "rows")

"""synthgym environments for Python: Gymnasium envs, a batched Gymnasium vector env
stepped in Rust threads, and PettingZoo parallel envs (one agent per robot or car; any id).

    import synthgym
    env = synthgym.make("cartpole-v1")                       # gymnasium.Env
    envs = synthgym.make_vec("cartpole-v1", num_envs=64)     # gymnasium.vector.VectorEnv
    par = synthgym.parallel_env("warehouse-grid-tiny-2ag-v0")  # pettingzoo.ParallelEnv

The classes are plain Python subclasses of the Gymnasium and PettingZoo base classes
(libraries such as Stable-Baselines3 check with ``isinstance``) over the Rust core in
``synthgym._synthgym``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _synthgym

__all__ = ["make", "make_vec", "parallel_env", "env_ids", "SynthgymEnv", "SynthgymVectorEnv", "SynthgymParallelEnv"]


def env_ids() -> list[str]:
    """Every registered environment id (the same list as ``synthgym envs``)."""
    return list(_synthgym.env_ids())


_SEED_BOUND = 2**63


def _fresh_seed(rng: np.random.Generator) -> int:
    """A seed for the Rust env drawn from a Gymnasium-seeded NumPy generator, so that
    resets without a seed differ between envs and runs, as Gymnasium users expect."""
    return int(rng.integers(_SEED_BOUND))


def _space(spec) -> spaces.Space:
    kind = spec[0]
    if kind == "Discrete":
        return spaces.Discrete(int(spec[1]), start=int(spec[2]))
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(spec[1], dtype=np.int64))
    if kind == "Box":
        low = np.asarray(spec[1], dtype=np.float32).reshape(spec[3])
        high = np.asarray(spec[2], dtype=np.float32).reshape(spec[3])
        return spaces.Box(low=low, high=high, dtype=np.float32)
    if kind == "Dict":
        # gymnasium sorts a Dict's keys; the Rust layout order is kept in the spec (see _unflatten).
        return spaces.Dict({key: _space(sub) for key, sub in spec[1]})
    raise ValueError(f"unknown space kind {kind!r}")


def _unflatten(spec, space: spaces.Space, flat: np.ndarray):
    """Splits a flat Rust observation by the Rust spec's entry order (not gymnasium's sorted keys)."""
    if isinstance(space, spaces.Dict):
        out, offset = {}, 0
        for key, _ in spec[1]:
            sub = space.spaces[key]
            n = int(np.prod(sub.shape))
            out[key] = flat[offset : offset + n].reshape(sub.shape)
            offset += n
        return out
    return flat.reshape(space.shape)


def _whole(values: np.ndarray) -> np.ndarray:
    if not np.all(np.equal(np.mod(values, 1), 0)):
        raise ValueError(f"discrete actions must be whole numbers, got {values}")
    return values.astype(np.int64)


def _action_value(space: spaces.Space, action):
    if isinstance(space, spaces.Discrete):
        return int(_whole(np.asarray(action).reshape(-1))[0]) if np.size(action) == 1 else int(action)
    if isinstance(space, spaces.MultiDiscrete):
        return [int(a) for a in _whole(np.asarray(action).reshape(-1))]
    return [float(a) for a in np.asarray(action, dtype=np.float32).reshape(-1)]


class SynthgymEnv(gym.Env):
    """A synthgym environment as a ``gymnasium.Env`` (multi-agent ids give their joint view)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        env_id: str,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (256, 256),
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
        self.env_id = env_id
        self.render_mode = render_mode
        self.render_size = (int(render_size[0]), int(render_size[1]))
        self._env = _synthgym.RustEnv(env_id, max_episode_steps)
        self._obs_spec = self._env.observation_space()
        self.observation_space = _space(self._obs_spec)
        self.action_space = _space(self._env.action_space())
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options:
            raise ValueError(f"{self.env_id} takes no reset options through Python yet, got {sorted(options)}")
        if seed is None and not self._seeded:
            seed = _fresh_seed(self.np_random)
        self._seeded = True
        obs, info = self._env.reset(seed)
        return _unflatten(self._obs_spec, self.observation_space, obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self._env.step(_action_value(self.action_space, action))
        return _unflatten(self._obs_spec, self.observation_space, obs), float(reward), bool(terminated), bool(truncated), info

    def render(self):
        """With ``render_mode="rgb_array"``: the scene as a ``(height, width, 3)`` uint8
        array, drawn by synthgym's offscreen renderer (it needs a Vulkan driver; Mesa's
        software one will do). Without a render mode: ``None``, as Gymnasium specifies."""
        if self.render_mode is None:
            return None
        width, height = self.render_size
        return self._env.render(width, height)


def make(env_id: str, **config) -> SynthgymEnv:
    """A ``gymnasium.Env`` for a registered id or a scene file (``*.toml``).

    ``config``: ``max_episode_steps`` overrides the time limit; ``render_mode="rgb_array"``
    makes ``render()`` return frames of ``render_size=(width, height)`` pixels.
    """
    accepted = {"max_episode_steps", "render_mode", "render_size"}
    unknown = set(config) - accepted
    if unknown:
        raise TypeError(f"unknown config {sorted(unknown)}; accepted: {', '.join(sorted(accepted))}")
    return SynthgymEnv(env_id, **config)


class SynthgymVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` copies stepped together in Rust (threads, GIL released) into NumPy
    arrays allocated once. Autoreset is Gymnasium's ``NEXT_STEP``."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, env_id: str, num_envs: int, threads: int = 1, max_episode_steps: int | None = None):
        self.env_id = env_id
        self._env = _synthgym.RustVecEnv(env_id, num_envs, threads, "next_step", max_episode_steps)
        self.num_envs = num_envs
        self.single_observation_space = _space(self._env.observation_space())
        self.single_action_space = _space(self._env.action_space())
        if isinstance(self.single_observation_space, spaces.Dict):
            raise ValueError(f"{env_id} has a Dict observation; use make() per env")
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        dim = int(np.prod(self.single_observation_space.shape))
        self._obs = np.zeros(num_envs * dim, dtype=np.float32)
        self._rewards = np.zeros(num_envs, dtype=np.float32)
        self._terminated = np.zeros(num_envs, dtype=np.bool_)
        self._truncated = np.zeros(num_envs, dtype=np.bool_)
        discrete = isinstance(self.single_action_space, (spaces.Discrete, spaces.MultiDiscrete))
        self._action_dtype = np.int64 if discrete else np.float32
        self._seeded = False

    def _obs_view(self):
        return self._obs.reshape((self.num_envs, *self.single_observation_space.shape))

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """``seed``: an int (env i gets seed + i) or one seed per env; ``options``: only
        ``reset_mask`` (reset just those envs), as Gymnasium 1.1+ defines it."""
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; accepted: reset_mask")
        if mask is not None:
            mask = [bool(m) for m in np.asarray(mask).reshape(-1)]
        if isinstance(seed, (list, tuple)):
            if len(seed) != self.num_envs:
                raise ValueError(f"{len(seed)} seeds for {self.num_envs} envs")
            self._np_random, _ = gym.utils.seeding.np_random(seed[0])
            seeds = [int(s) if s is not None else _fresh_seed(self._np_random) for s in seed]
            self._env.reset(self._obs, None, seeds, mask)
        else:
            if seed is not None or not self._seeded:
                self._np_random, _ = gym.utils.seeding.np_random(seed)
            if seed is None and not self._seeded:
                seed = _fresh_seed(self._np_random)
            self._env.reset(self._obs, seed, None, mask)
        self._seeded = True
        return self._obs_view().copy(), {}

    def close_extras(self, **kwargs):
        self._env = None

    def step(self, actions):
        flat = np.asarray(actions)
        flat = np.ascontiguousarray(_whole(flat) if self._action_dtype == np.int64 else flat, dtype=self._action_dtype).reshape(-1)
        self._env.step(flat, self._obs, self._rewards, self._terminated, self._truncated)
        return self._obs_view().copy(), self._rewards.copy(), self._terminated.copy(), self._truncated.copy(), {}


def make_vec(env_id: str, num_envs: int, threads: int = 1, **config) -> SynthgymVectorEnv:
    """A batched ``gymnasium.vector.VectorEnv``; ``threads`` > 1 steps chunks of envs in parallel."""
    return SynthgymVectorEnv(env_id, num_envs, threads, **config)


try:
    from pettingzoo import ParallelEnv as _PZParallelEnv
except ImportError:  # pettingzoo is optional
    _PZParallelEnv = object


class SynthgymParallelEnv(_PZParallelEnv):
    """A synthgym env as a PettingZoo ``ParallelEnv`` (needs pettingzoo): a multi-agent scene per agent, any other env as one agent."""

    metadata = {"render_modes": [], "name": "synthgym"}

    def __init__(self, env_id: str, max_episode_steps: int | None = None):
        if _PZParallelEnv is object:
            raise ImportError("parallel_env needs pettingzoo: pip install pettingzoo")
        self.env_id = env_id
        self.render_mode = None
        self._env = _synthgym.RustParallelEnv(env_id, max_episode_steps)
        self.possible_agents = list(self._env.possible_agents())
        self.agents = []
        self._seeded = False
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._obs_specs = {a: self._env.observation_space(i) for a, i in self._index.items()}
        self.observation_spaces = {a: _space(self._obs_specs[a]) for a in self.possible_agents}
        self.action_spaces = {a: _space(self._env.action_space(i)) for a, i in self._index.items()}

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def _dicts(self, out):
        obs, rewards, terminated, truncated, infos, active = out
        live = list(self.agents)
        o = {a: _unflatten(self._obs_specs[a], self.observation_spaces[a], obs[self._index[a]]) for a in live}
        return o, rewards, terminated, truncated, infos, active, live

    def reset(self, seed: int | None = None, options: dict | None = None):
        # PettingZoo's API test passes arbitrary options; the scenes take none, so they are ignored.
        del options
        if seed is None and not self._seeded:
            seed = _fresh_seed(np.random.default_rng())
        self._seeded = True
        out = self._env.reset(seed)
        active = out[5]
        self.agents = [a for a, on in zip(self.possible_agents, active) if on]
        o, _, _, _, infos, _, live = self._dicts(out)
        return o, {a: infos[self._index[a]] for a in live}

    def step(self, actions: dict):
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"no action for live agents {missing}")
        # Agents that are done send None; the Rust env ignores them.
        values = [_action_value(self.action_spaces[a], actions[a]) if a in self.agents else None for a in self.possible_agents]
        out = self._env.step(values)
        o, rewards, terminated, truncated, infos, active, live = self._dicts(out)
        idx = self._index
        result = (
            o,
            {a: float(rewards[idx[a]]) for a in live},
            {a: bool(terminated[idx[a]]) for a in live},
            {a: bool(truncated[idx[a]]) for a in live},
            {a: infos[idx[a]] for a in live},
        )
        # Agents that finished this step are reported once, then leave `agents`.
        self.agents = [a for a in live if active[idx[a]]]
        return result


def parallel_env(env_id: str, **config) -> SynthgymParallelEnv:
    """A PettingZoo ``ParallelEnv``: one agent per robot or car of a warehouse or driving
    scene; a single-agent env (CartPole) is one agent, ``agent_0``."""
    return SynthgymParallelEnv(env_id, **config)

"""The package as Gymnasium, vector and PettingZoo users meet it."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import synthgym

SINGLE_IDS = ["cartpole-v1", "warehouse-grid-tiny-2ag-v0", "warehouse-physics-tiny-1ag-continuous-v0", "driving-highway-v0", "driving-parking-v0"]


@pytest.mark.parametrize("env_id", SINGLE_IDS)
def test_gymnasium_check_env(env_id):
    env = synthgym.make(env_id)
    assert isinstance(env, gym.Env)
    check_env(env, skip_render_check=True)


def test_cartpole_matches_its_spaces_and_seeds():
    env = synthgym.make("cartpole-v1")
    assert env.action_space == gym.spaces.Discrete(2)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    steps = 0
    while True:
        _, reward, terminated, truncated, _ = env.step(1)
        steps += 1
        assert reward == 1.0
        if terminated or truncated:
            break
    assert 5 < steps < 60  # always pushing right topples the pole quickly


def test_make_rejects_unknown_ids_and_config():
    with pytest.raises(ValueError, match="did you mean 'cartpole-v1'"):
        synthgym.make("cartpole-v0")
    with pytest.raises(TypeError, match="unknown config"):
        synthgym.make("cartpole-v1", gravity=3)
    env = synthgym.make("cartpole-v1", max_episode_steps=10)
    env.reset(seed=0)
    truncated = False
    for _ in range(10):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            break
    assert truncated or terminated


@pytest.mark.parametrize("threads", [1, 2])
def test_vector_env_equals_single_envs(threads):
    n = 6
    envs = synthgym.make_vec("cartpole-v1", num_envs=n, threads=threads)
    assert isinstance(envs, gym.vector.VectorEnv)
    singles = [synthgym.make("cartpole-v1") for _ in range(n)]
    obs, _ = envs.reset(seed=10)
    for i, s in enumerate(singles):
        np.testing.assert_array_equal(obs[i], s.reset(seed=10 + i)[0])
    rng = np.random.default_rng(0)
    pending = [False] * n
    for _ in range(200):
        actions = rng.integers(0, 2, size=n)
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        assert obs.shape == (n, 4) and obs.dtype == np.float32 and rewards.dtype == np.float32
        for i, s in enumerate(singles):
            if pending[i]:  # NEXT_STEP autoreset: this step resets env i
                expected = s.reset()[0]
                np.testing.assert_array_equal(obs[i], expected)
                assert rewards[i] == 0.0
                pending[i] = False
                continue
            o, r, te, tr, _ = s.step(int(actions[i]))
            np.testing.assert_array_equal(obs[i], o)
            assert (rewards[i], terminated[i], truncated[i]) == (r, te, tr)
            pending[i] = te or tr


def test_vector_env_with_multi_discrete_joint_actions():
    envs = synthgym.make_vec("warehouse-grid-tiny-2ag-v0", num_envs=3)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 142)
    actions = envs.action_space.sample()
    assert actions.shape == (3, 2)
    envs.step(actions)


@pytest.mark.parametrize("env_id", ["warehouse-grid-tiny-2ag-v0", "warehouse-physics-tiny-2ag-v0", "driving-highway-2ag-v0", "cartpole-v1"])
def test_pettingzoo_parallel_api(env_id):
    from pettingzoo.test import parallel_api_test

    env = synthgym.parallel_env(env_id)
    parallel_api_test(env, num_cycles=60)


def test_parallel_env_reports_finished_agents_once():
    env = synthgym.parallel_env("driving-highway-2ag-v0")
    env.reset(seed=1)
    seen_done = set()
    for _ in range(200):
        if not env.agents:
            break
        actions = {a: env.action_space(a).sample() for a in env.agents}
        _, _, terminated, truncated, _ = env.step(actions)
        for a in terminated:
            assert a not in seen_done, f"{a} reported after it was done"
            if terminated[a] or truncated[a]:
                seen_done.add(a)
    assert not env.agents and seen_done == set(env.possible_agents)


def test_dict_observations_keep_the_rust_layout():
    env = synthgym.make("driving-parking-v0")
    obs, _ = env.reset(seed=3)
    raw = synthgym._synthgym.RustEnv("driving-parking-v0")
    flat, _ = raw.reset(3)
    offset = 0
    for key, _ in raw.observation_space()[1]:
        n = obs[key].size
        np.testing.assert_array_equal(obs[key].reshape(-1), flat[offset : offset + n], err_msg=key)
        offset += n
    assert offset == flat.size


def test_unseeded_resets_differ_and_seeded_ones_repeat():
    firsts = [synthgym.make("cartpole-v1").reset()[0] for _ in range(3)]
    assert not np.array_equal(firsts[0], firsts[1]) or not np.array_equal(firsts[1], firsts[2])
    envs = synthgym.make_vec("cartpole-v1", num_envs=4)
    obs, _ = envs.reset()
    assert len({tuple(o) for o in obs}) == 4
    par = synthgym.parallel_env("warehouse-physics-tiny-2ag-v0")
    a, _ = par.reset(seed=9)
    b, _ = par.reset(seed=9)
    for agent in a:
        np.testing.assert_array_equal(a[agent], b[agent])


def test_vector_reset_mask_and_per_env_seeds():
    envs = synthgym.make_vec("cartpole-v1", num_envs=3)
    singles = [synthgym.make("cartpole-v1") for _ in range(3)]
    obs, _ = envs.reset(seed=[7, 100, 3])
    for o, s, seed in zip(obs, singles, [7, 100, 3]):
        np.testing.assert_array_equal(o, s.reset(seed=seed)[0])
    before, *_ = envs.step(np.array([1, 1, 1]))
    after, _ = envs.reset(seed=50, options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], singles[0].reset(seed=51)[0])
    with pytest.raises(ValueError, match="unknown reset options"):
        envs.reset(options={"low": 0.1})
    with pytest.raises(ValueError, match="whole numbers"):
        envs.step(np.array([0.5, 1.0, 0.0]))


def test_scene_files_in_python(tmp_path):
    import pathlib

    scene = pathlib.Path(__file__).resolve().parents[2] / "scenes" / "warehouse-grid-custom.toml"
    env = synthgym.make(str(scene), max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert flags == [False, False, True]
    envs = synthgym.make_vec(str(scene), num_envs=2)
    obs, _ = envs.reset(seed=0)
    assert obs.shape[0] == 2


def test_rgb_array_frames_show_the_scene():
    env = synthgym.make("cartpole-v1", render_mode="rgb_array", render_size=(64, 48))
    assert "rgb_array" in env.metadata["render_modes"]
    env.reset(seed=3)
    first = env.render()
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    assert len(np.unique(first.reshape(-1, 3), axis=0)) > 2, "more than the sky is drawn"
    for _ in range(5):
        env.step(1)
    assert not np.array_equal(first, env.render()), "the cart moved"
    env.reset(seed=3)
    assert np.array_equal(first, env.render()), "same state, same frame"
    assert synthgym.make("cartpole-v1").render() is None
    with pytest.raises(ValueError, match="render_mode"):
        synthgym.make("cartpole-v1", render_mode="human")

//! `synthgym._synthgym`: the Rust half of the Python package. Thin classes over the
//! synthgym crate; the Gymnasium, vector and PettingZoo classes that Python libraries
//! type-check against are written in Python (`python/synthgym/__init__.py`) on top.
//!
//! Batched stepping releases the GIL and writes into NumPy arrays the caller
//! allocated once, so a vector step allocates nothing on either side.

use std::sync::Mutex;

use numpy::{PyArray1, PyArray3, PyReadonlyArray1, PyReadwriteArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use synthgym::env::vector::{ActionBuffer, Actions, AutoresetMode, SerialVecEnv, ThreadedVecEnv, VecEnv};
use synthgym::env::{Action, Env, EnvError, Info, MakeOptions, ParallelBuffers, ParallelEnv, Space};
use synthgym::render::randomize::CameraMode;
use synthgym::render::{Quality, SceneCamera};
use synthgym::scenes::{make_agents, make_env, registry};

fn err(e: EnvError) -> PyErr {
    // An env inside a vector env: the kind of error is the inner one's.
    let e = match e {
        EnvError::InVectorEnv { index, source } => {
            let message = format!("env {index} of the vector env: {source}");
            return match *source {
                EnvError::InvalidAction { .. } | EnvError::InvalidOption { .. } | EnvError::BufferSize { .. } => {
                    PyValueError::new_err(message)
                }
                _ => PyRuntimeError::new_err(message),
            };
        }
        other => other,
    };
    match e {
        EnvError::BufferSize { .. } => PyValueError::new_err(e.to_string()),
        EnvError::UnknownEnv { .. } | EnvError::InvalidAction { .. } | EnvError::InvalidOption { .. } | EnvError::InvalidConfig { .. } => {
            PyValueError::new_err(e.to_string())
        }
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

fn options(max_episode_steps: Option<u64>) -> MakeOptions {
    MakeOptions { max_episode_steps, ..MakeOptions::default() }
}

/// A space as plain Python data: `("Discrete", n, start)`, `("MultiDiscrete", nvec)`,
/// `("Box", low, high, shape)` or `("Dict", [(key, space), ...])`.
fn space_spec<'py>(py: Python<'py>, space: &Space) -> PyResult<Bound<'py, PyTuple>> {
    match space {
        Space::Discrete { n, start } => ("Discrete", *n, *start).into_pyobject(py),
        Space::MultiDiscrete { nvec } => ("MultiDiscrete", nvec.clone()).into_pyobject(py),
        Space::Box(b) => ("Box", b.low().to_vec(), b.high().to_vec(), b.shape().to_vec()).into_pyobject(py),
        Space::Dict(entries) => {
            let list = PyList::empty(py);
            for (k, s) in entries {
                list.append((k.as_str(), space_spec(py, s)?))?;
            }
            ("Dict", list).into_pyobject(py)
        }
    }
}

/// An owned action extracted from a Python value for `space`.
enum OwnedAction {
    Discrete(i64),
    Multi(Vec<i64>),
    Continuous(Vec<f32>),
}

impl OwnedAction {
    fn extract(space: &Space, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(match space {
            Space::Discrete { .. } => OwnedAction::Discrete(value.extract::<i64>()?),
            Space::MultiDiscrete { .. } => OwnedAction::Multi(value.extract::<Vec<i64>>()?),
            Space::Box(_) => OwnedAction::Continuous(value.extract::<Vec<f32>>()?),
            Space::Dict(_) => return Err(PyValueError::new_err("Dict action spaces are not supported")),
        })
    }

    fn as_action(&self) -> Action<'_> {
        match self {
            OwnedAction::Discrete(a) => Action::Discrete(*a),
            OwnedAction::Multi(a) => Action::MultiDiscrete(a),
            OwnedAction::Continuous(a) => Action::Continuous(a),
        }
    }
}

fn info_dict<'py>(py: Python<'py>, info: &Info) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in info.values.iter() {
        d.set_item(k, v)?;
    }
    if let Some(ep) = info.episode {
        let e = PyDict::new(py);
        e.set_item("r", ep.episode_return)?;
        e.set_item("l", ep.length)?;
        e.set_item("t", ep.elapsed_s)?;
        d.set_item("episode", e)?;
    }
    Ok(d)
}

/// One single-agent environment (the joint view of multi-agent ids).
#[pyclass(module = "synthgym._synthgym")]
struct RustEnv {
    // A Mutex makes the class Sync, as PyO3 requires; methods take `&mut self`, so
    // `get_mut` reaches the env without locking.
    env: Mutex<Box<dyn Env>>,
    obs: Vec<f32>,
    /// The renderer behind `render()`, started on first use (a second or two).
    camera: Option<Mutex<SceneCamera>>,
}

#[pymethods]
impl RustEnv {
    #[new]
    #[pyo3(signature = (id, max_episode_steps=None))]
    fn new(id: &str, max_episode_steps: Option<u64>) -> PyResult<Self> {
        let env = make_env(id, &options(max_episode_steps)).map_err(err)?;
        let obs = vec![0.0; env.observation_space().flat_dim()];
        Ok(Self { env: Mutex::new(env), obs, camera: None })
    }

    /// The current scene as a `(height, width, 3)` uint8 array, or `None` if the env has
    /// no scene to draw.
    fn render<'py>(&mut self, py: Python<'py>, width: u32, height: u32) -> PyResult<Option<Bound<'py, PyArray3<u8>>>> {
        let fresh = match &mut self.camera {
            Some(c) => unpoisoned(c, "the renderer")?.size() == (width, height),
            None => false,
        };
        if !fresh {
            let camera =
                SceneCamera::new(width, height, Quality::Fast, CameraMode::Fixed).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
            self.camera = Some(Mutex::new(camera));
        }
        let env = env_mut(&mut self.env)?;
        let Some(camera) = self.camera.as_mut() else { return Ok(None) };
        let camera = unpoisoned(camera, "the renderer")?;
        let Some(image) = camera.render(env.as_ref()).map_err(|e| PyRuntimeError::new_err(e.to_string()))? else { return Ok(None) };
        let array = numpy::ndarray::Array3::from_shape_vec((height as usize, width as usize, 3), image.pixels)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(Some(PyArray3::from_owned_array(py, array)))
    }

    fn observation_space<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        space_spec(py, env_mut(&mut self.env)?.observation_space())
    }

    fn action_space<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        space_spec(py, env_mut(&mut self.env)?.action_space())
    }

    /// `(obs, info)`; `seed=None` continues the env's own random stream.
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(&mut self, py: Python<'py>, seed: Option<u64>) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyDict>)> {
        let info = env_mut(&mut self.env)?.reset(seed, None, &mut self.obs).map_err(err)?;
        Ok((PyArray1::from_slice(py, &self.obs), info_dict(py, &info)?))
    }

    /// `(obs, reward, terminated, truncated, info)`.
    #[expect(clippy::type_complexity, reason = "Gymnasium's step tuple")]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, f32, bool, bool, Bound<'py, PyDict>)> {
        let env = env_mut(&mut self.env)?;
        let action = OwnedAction::extract(env.action_space(), action)?;
        let out = env.step(action.as_action(), &mut self.obs).map_err(err)?;
        Ok((PyArray1::from_slice(py, &self.obs), out.reward, out.terminated, out.truncated, info_dict(py, &out.info)?))
    }
}

/// `num_envs` copies of one environment stepped together in Rust threads.
#[pyclass(module = "synthgym._synthgym")]
struct RustVecEnv {
    env: Mutex<Box<dyn VecEnv>>,
    actions: ActionBuffer,
    num_envs: usize,
}

#[pymethods]
impl RustVecEnv {
    /// `threads` > 1 steps chunks of envs on that many threads; `autoreset` is
    /// `next_step` (Gymnasium's default) or `same_step`.
    #[new]
    #[pyo3(signature = (id, num_envs, threads=1, autoreset="next_step", max_episode_steps=None))]
    fn new(id: &str, num_envs: usize, threads: usize, autoreset: &str, max_episode_steps: Option<u64>) -> PyResult<Self> {
        let mode = match autoreset {
            "next_step" => AutoresetMode::NextStep,
            "same_step" => AutoresetMode::SameStep,
            "disabled" => AutoresetMode::Disabled,
            other => return Err(PyValueError::new_err(format!("autoreset must be next_step, same_step or disabled, not {other:?}"))),
        };
        let envs = (0..num_envs).map(|_| make_env(id, &options(max_episode_steps))).collect::<Result<Vec<_>, _>>().map_err(err)?;
        let env: Box<dyn VecEnv> = if threads > 1 {
            Box::new(ThreadedVecEnv::new(envs, threads, mode).map_err(err)?)
        } else {
            Box::new(SerialVecEnv::new(envs, mode).map_err(err)?)
        };
        let actions = ActionBuffer::new(env.single_action_space(), num_envs).map_err(err)?;
        Ok(Self { env: Mutex::new(env), actions, num_envs })
    }

    fn observation_space<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        space_spec(py, env_mut(&mut self.env)?.single_observation_space())
    }

    fn action_space<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        space_spec(py, env_mut(&mut self.env)?.single_action_space())
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// Resets the envs and writes all observations into `obs`: every env, or those in
    /// `mask`; env `i` gets `seed + i`, or `seeds[i]` when a list is given.
    #[pyo3(signature = (obs, seed=None, seeds=None, mask=None))]
    fn reset(
        &mut self,
        py: Python<'_>,
        mut obs: PyReadwriteArray1<'_, f32>,
        seed: Option<u64>,
        seeds: Option<Vec<u64>>,
        mask: Option<Vec<bool>>,
    ) -> PyResult<()> {
        let n = self.num_envs;
        let mask = mask.unwrap_or_else(|| vec![true; n]);
        if mask.len() != n || seeds.as_ref().is_some_and(|s| s.len() != n) {
            return Err(PyValueError::new_err(format!("reset_mask and seeds need one entry per env ({n})")));
        }
        let obs = obs.as_slice_mut().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let env = env_mut(&mut self.env)?;
        check_len(obs.len(), n * env.buffers().obs_dim, "obs").map_err(err)?;
        py.detach(|| -> Result<(), EnvError> {
            match seeds {
                // env i is reset with `base + i`, so env i alone with base `s_i - i` gets `s_i`.
                Some(seeds) => {
                    for (i, s) in seeds.iter().enumerate().filter(|(i, _)| mask[*i]) {
                        let mut one = vec![false; n];
                        one[i] = true;
                        env.reset_envs(&one, Some(s.wrapping_sub(i as u64)))?;
                    }
                }
                None if mask.iter().all(|m| *m) => {
                    env.reset(seed)?;
                }
                None => {
                    env.reset_envs(&mask, seed)?;
                }
            }
            copy_into(obs, &env.buffers().obs, "obs")
        })
        .map_err(err)
    }

    /// Steps with `actions` (flat: one int per env, or `per_env` numbers per env) and
    /// writes the outputs into the caller's arrays, with the GIL released.
    fn step(
        &mut self,
        py: Python<'_>,
        actions: &Bound<'_, PyAny>,
        mut obs: PyReadwriteArray1<'_, f32>,
        mut rewards: PyReadwriteArray1<'_, f32>,
        mut terminated: PyReadwriteArray1<'_, bool>,
        mut truncated: PyReadwriteArray1<'_, bool>,
    ) -> PyResult<()> {
        match &mut self.actions {
            ActionBuffer::Discrete(a) | ActionBuffer::MultiDiscrete(a) => {
                let src: PyReadonlyArray1<'_, i64> = actions.extract()?;
                copy_into(a, src.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?, "actions").map_err(err)?;
            }
            ActionBuffer::Continuous(a) => {
                let src: PyReadonlyArray1<'_, f32> = actions.extract()?;
                copy_into(a, src.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?, "actions").map_err(err)?;
            }
        }
        let slices = (
            obs.as_slice_mut().map_err(|e| PyValueError::new_err(e.to_string()))?,
            rewards.as_slice_mut().map_err(|e| PyValueError::new_err(e.to_string()))?,
            terminated.as_slice_mut().map_err(|e| PyValueError::new_err(e.to_string()))?,
            truncated.as_slice_mut().map_err(|e| PyValueError::new_err(e.to_string()))?,
        );
        let (env, acts) = (env_mut(&mut self.env)?, &self.actions);
        // Check the output sizes before stepping, so a wrong buffer never loses a step.
        let n = self.num_envs;
        check_len(slices.0.len(), n * env.buffers().obs_dim, "obs").map_err(err)?;
        for (len, what) in [(slices.1.len(), "rewards"), (slices.2.len(), "terminated"), (slices.3.len(), "truncated")] {
            check_len(len, n, what).map_err(err)?;
        }
        py.detach(move || -> Result<(), EnvError> {
            let actions: Actions<'_> = acts.as_actions();
            let bufs = env.step(actions)?;
            let (o, r, te, tr) = slices;
            copy_into(o, &bufs.obs, "obs")?;
            copy_into(r, &bufs.rewards, "rewards")?;
            copy_into(te, &bufs.terminated, "terminated")?;
            copy_into(tr, &bufs.truncated, "truncated")
        })
        .map_err(err)
    }
}

/// The env inside a class's Mutex. Methods take `&mut self`, so this never locks and
/// the Mutex is never poisoned; it exists only to make the class `Sync` for PyO3.
fn env_mut<T: ?Sized>(m: &mut Mutex<Box<T>>) -> PyResult<&mut Box<T>> {
    m.get_mut().map_err(|_| PyRuntimeError::new_err("the environment is unusable"))
}

/// The value behind `m`, or an error naming `what` if a panic poisoned it.
fn unpoisoned<'a, T>(m: &'a mut Mutex<T>, what: &str) -> PyResult<&'a mut T> {
    m.get_mut().map_err(|_| PyRuntimeError::new_err(format!("{what} was poisoned by an earlier panic")))
}

fn check_len(got: usize, expected: usize, what: &'static str) -> Result<(), EnvError> {
    if got == expected { Ok(()) } else { Err(EnvError::BufferSize { what, got, expected }) }
}

fn copy_into<T: Copy>(dst: &mut [T], src: &[T], what: &'static str) -> Result<(), EnvError> {
    if dst.len() != src.len() {
        return Err(EnvError::BufferSize { what, got: dst.len(), expected: src.len() });
    }
    dst.copy_from_slice(src);
    Ok(())
}

/// Any environment as a multi-agent one (PettingZoo's parallel API in Python): a
/// multi-agent scene's parallel view, or a single-agent env as its one agent `agent_0`.
#[pyclass(module = "synthgym._synthgym")]
struct RustParallelEnv {
    env: Mutex<Box<dyn ParallelEnv>>,
    bufs: ParallelBuffers,
    agents: Vec<String>,
    observation_spaces: Vec<Space>,
    action_spaces: Vec<Space>,
}

#[pymethods]
impl RustParallelEnv {
    #[new]
    #[pyo3(signature = (id, max_episode_steps=None))]
    fn new(id: &str, max_episode_steps: Option<u64>) -> PyResult<Self> {
        let env = make_agents(id, true, &options(max_episode_steps)).map_err(err)?;
        let bufs = ParallelBuffers::for_env(env.as_ref());
        let agents = env.possible_agents().to_vec();
        let missing = |i: usize| PyRuntimeError::new_err(format!("{id}: agent {i} has no space"));
        let observation_spaces =
            (0..agents.len()).map(|i| env.observation_space(i).cloned().ok_or_else(|| missing(i))).collect::<PyResult<_>>()?;
        let action_spaces = (0..agents.len()).map(|i| env.action_space(i).cloned().ok_or_else(|| missing(i))).collect::<PyResult<_>>()?;
        Ok(Self { env: Mutex::new(env), bufs, agents, observation_spaces, action_spaces })
    }

    fn possible_agents(&self) -> Vec<String> {
        self.agents.clone()
    }

    fn observation_space<'py>(&self, py: Python<'py>, agent: usize) -> PyResult<Bound<'py, PyTuple>> {
        let space = self.observation_spaces.get(agent).ok_or_else(|| PyValueError::new_err(format!("no agent {agent}")))?;
        space_spec(py, space)
    }

    fn action_space<'py>(&self, py: Python<'py>, agent: usize) -> PyResult<Bound<'py, PyTuple>> {
        let space = self.action_spaces.get(agent).ok_or_else(|| PyValueError::new_err(format!("no agent {agent}")))?;
        space_spec(py, space)
    }

    /// Per agent: `(obs, info)` lists and the active flags.
    #[pyo3(signature = (seed=None))]
    fn reset<'py>(&mut self, py: Python<'py>, seed: Option<u64>) -> PyResult<Bound<'py, PyTuple>> {
        env_mut(&mut self.env)?.reset(seed, None, &mut self.bufs.rows()).map_err(err)?;
        self.outputs(py)
    }

    /// `actions[i]` for agent `i` (anything for inactive agents); returns per-agent
    /// `(obs, rewards, terminated, truncated, infos, active)` lists.
    fn step<'py>(&mut self, py: Python<'py>, actions: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyTuple>> {
        let n = self.agents.len();
        if actions.len() != n {
            return Err(PyValueError::new_err(format!("expected {n} actions, got {}", actions.len())));
        }
        let mut owned = Vec::with_capacity(n);
        for (i, (value, space)) in actions.iter().zip(&self.action_spaces).enumerate() {
            owned.push(if self.bufs.active[i] { OwnedAction::extract(space, &value)? } else { idle(space) });
        }
        let acts: Vec<Action<'_>> = owned.iter().map(OwnedAction::as_action).collect();
        env_mut(&mut self.env)?.step(&acts, &mut self.bufs.rows()).map_err(err)?;
        self.outputs(py)
    }
}

impl RustParallelEnv {
    fn outputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let obs: Vec<Bound<'py, PyArray1<f32>>> = (0..self.agents.len()).map(|i| PyArray1::from_slice(py, self.bufs.obs_of(i))).collect();
        let infos = self.bufs.infos.iter().map(|i| info_dict(py, i)).collect::<PyResult<Vec<_>>>()?;
        (obs, self.bufs.rewards.clone(), self.bufs.terminated.clone(), self.bufs.truncated.clone(), infos, self.bufs.active.clone())
            .into_pyobject(py)
    }
}

/// A valid action for an agent that does not act.
fn idle(space: &Space) -> OwnedAction {
    match space {
        Space::Discrete { start, .. } => OwnedAction::Discrete(*start),
        Space::MultiDiscrete { nvec } => OwnedAction::Multi(vec![0; nvec.len()]),
        Space::Box(b) => OwnedAction::Continuous(b.low().iter().zip(b.high()).map(|(l, h)| 0f32.clamp(*l, *h)).collect()),
        Space::Dict(_) => OwnedAction::Discrete(0),
    }
}

/// Registered environment ids.
#[pyfunction]
fn env_ids() -> Vec<String> {
    registry().specs().iter().map(|s| s.id.clone()).collect()
}

/// Whether `id` (a registry id or a scene file) has a multi-agent (parallel) version.
#[pyfunction]
fn has_parallel(id: &str) -> PyResult<bool> {
    synthgym::scenes::has_parallel(id).map_err(err)
}

#[pymodule]
fn _synthgym(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RustEnv>()?;
    m.add_class::<RustVecEnv>()?;
    m.add_class::<RustParallelEnv>()?;
    m.add_function(wrap_pyfunction!(env_ids, m)?)?;
    m.add_function(wrap_pyfunction!(has_parallel, m)?)?;
    Ok(())
}

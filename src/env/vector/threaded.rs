//! [`ThreadedVecEnv`]: envs split into chunks stepped in parallel on crossbeam workers.
//!
//! Each worker thread owns nothing between steps: the main thread hands it a boxed
//! [`Chunk`] (envs, buffers and a copy of their actions) over a channel and gets it
//! back when stepped, so no buffer is shared and no lock is taken. The calling
//! thread steps chunk 0 itself meanwhile, then copies every chunk's outputs into
//! one contiguous [`VecBuffers`].

use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::chunk::Chunk;
use super::{Actions, AutoresetMode, VecBuffers, VecEnv, action_width, check_actions, check_mask, common_spaces, one_agent_each};
use crate::env::{Env, EnvError, ParallelEnv, SingleAgent, Space};

/// What a worker should do with the chunk it is handed.
#[derive(Clone, Copy)]
enum Command {
    Reset(Option<u64>),
    ResetMasked(Option<u64>),
    Step(AutoresetMode),
}

type Job<P> = (Command, Box<Chunk<P>>);
type Done<P> = (Box<Chunk<P>>, Result<(), EnvError>);

struct Worker<P> {
    jobs: Sender<Job<P>>,
    done: Receiver<Done<P>>,
    handle: Option<JoinHandle<()>>,
}

/// How many times a worker polls for its next job before it blocks. Stepping a
/// batch takes microseconds, and a parked thread takes about as long to wake, so a
/// short spin keeps workers hot during a rollout and idle between rollouts.
const SPIN_POLLS: u32 = 20_000;

fn run_worker<P: ParallelEnv>(jobs: Receiver<Job<P>>, done: Sender<Done<P>>) {
    loop {
        let mut job = None;
        for _ in 0..SPIN_POLLS {
            match jobs.try_recv() {
                Ok(j) => {
                    job = Some(j);
                    break;
                }
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let (command, mut chunk) = match job {
            Some(j) => j,
            None => match jobs.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        let result = match command {
            Command::Reset(seed) => chunk.reset_all(seed),
            Command::ResetMasked(seed) => chunk.reset_own_mask(seed),
            Command::Step(mode) => chunk.step_own_actions(mode),
        };
        if done.send((chunk, result)).is_err() {
            return;
        }
    }
}

/// A vector env whose envs are stepped in parallel by `num_threads` threads, the
/// calling thread included (EnvPool, PufferLib's `Multiprocessing`, but in-process).
/// Results are bit-identical to [`SerialVecEnv`](super::SerialVecEnv) for the same seed.
pub struct ThreadedVecEnv<P: ParallelEnv + 'static = Box<dyn ParallelEnv>> {
    /// `chunks[0]` always stays here; `chunks[w]` (w ≥ 1) is away while worker `w - 1` runs it.
    chunks: Vec<Option<Box<Chunk<P>>>>,
    workers: Vec<Worker<P>>,
    /// Which chunks are out on a worker during [`Self::run`]; reused to avoid allocating.
    sent: Vec<bool>,
    buf: VecBuffers,
    observation_space: Space,
    action_space: Space,
    mode: AutoresetMode,
}

impl ThreadedVecEnv<SingleAgent<Box<dyn Env>>> {
    /// Batches single-agent `envs` (one row each, sharing their spaces) over
    /// `num_threads` threads; the envs are split into contiguous chunks whose sizes
    /// differ by at most one.
    pub fn new(envs: Vec<Box<dyn Env>>, num_threads: usize, mode: AutoresetMode) -> Result<Self, EnvError> {
        Self::from_agents(one_agent_each(envs), num_threads, mode)
    }
}

impl<P: ParallelEnv + 'static> ThreadedVecEnv<P> {
    /// Batches multi-agent `envs` (one row per agent; all agents share their spaces)
    /// over `num_threads` threads, split as [`ThreadedVecEnv::new`] does.
    pub fn from_agents(envs: Vec<P>, num_threads: usize, mode: AutoresetMode) -> Result<Self, EnvError> {
        let (agents, observation_space, action_space) = common_spaces(&envs)?;
        if num_threads == 0 {
            return Err(EnvError::InvalidConfig { what: "num_threads".into(), reason: "must be at least 1".into() });
        }
        let num_envs = envs.len();
        let num_chunks = num_threads.min(num_envs);
        let mut chunks = Vec::with_capacity(num_chunks);
        let mut rest = envs.into_iter();
        let mut first = 0;
        for c in 0..num_chunks {
            let size = num_envs / num_chunks + usize::from(c < num_envs % num_chunks);
            chunks.push(Some(Box::new(Chunk::new(first, rest.by_ref().take(size).collect())?)));
            first += size;
        }
        let workers = (1..num_chunks)
            .map(|w| {
                let (job_tx, job_rx) = crossbeam_channel::bounded::<Job<P>>(1);
                let (done_tx, done_rx) = crossbeam_channel::bounded::<Done<P>>(1);
                let handle = std::thread::Builder::new()
                    .name(format!("synthgym-vec-{w}"))
                    .spawn(move || run_worker(job_rx, done_tx))
                    .map_err(|e| EnvError::InvalidConfig { what: "worker thread".into(), reason: e.to_string() })?;
                Ok(Worker { jobs: job_tx, done: done_rx, handle: Some(handle) })
            })
            .collect::<Result<Vec<_>, EnvError>>()?;
        let obs_dim = observation_space.flat_dim();
        Ok(Self {
            sent: vec![false; chunks.len()],
            chunks,
            workers,
            buf: VecBuffers::new(num_envs, agents, obs_dim),
            observation_space,
            action_space,
            mode,
        })
    }

    /// Number of threads in use (workers plus the calling thread).
    pub fn num_threads(&self) -> usize {
        self.chunks.len()
    }

    /// Sends chunk `w` (w ≥ 1) to its worker with `command`.
    fn dispatch(&mut self, w: usize, command: Command) -> Result<(), EnvError> {
        let chunk = self.chunks[w].take().ok_or(EnvError::WorkerStopped(w))?;
        match self.workers[w - 1].jobs.send((command, chunk)) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.chunks[w] = Some(err.into_inner().1);
                Err(EnvError::WorkerStopped(w))
            }
        }
    }

    /// Runs `command` on every chunk: chunk 0 here via `local`, the others on
    /// workers. Waits for all, gathers outputs, and returns the first error.
    fn run(&mut self, command: Command, local: impl FnOnce(&mut Chunk<P>) -> Result<(), EnvError>) -> Result<&VecBuffers, EnvError> {
        let mut first_error = None;
        self.sent.fill(false);
        for w in 1..self.chunks.len() {
            match self.dispatch(w, command) {
                Ok(()) => self.sent[w] = true,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let chunk0 = self.chunks[0].as_mut().ok_or(EnvError::WorkerStopped(0))?;
        if let Err(e) = local(chunk0) {
            first_error.get_or_insert(e);
        }
        for w in 1..self.chunks.len() {
            if !self.sent[w] {
                continue;
            }
            match self.workers[w - 1].done.recv() {
                Ok((chunk, result)) => {
                    self.chunks[w] = Some(chunk);
                    if let Err(e) = result {
                        first_error.get_or_insert(e);
                    }
                }
                Err(_) => {
                    first_error.get_or_insert(EnvError::WorkerStopped(w));
                }
            }
        }
        for chunk in self.chunks.iter().flatten() {
            self.buf.copy_chunk_from(chunk.first, &chunk.buf);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(&self.buf),
        }
    }
}

impl<P: ParallelEnv + 'static> VecEnv for ThreadedVecEnv<P> {
    fn num_envs(&self) -> usize {
        self.buf.num_envs
    }

    fn num_agents(&self) -> usize {
        self.buf.num_agents
    }

    fn single_observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn single_action_space(&self) -> &Space {
        &self.action_space
    }

    fn autoreset_mode(&self) -> AutoresetMode {
        self.mode
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<&VecBuffers, EnvError> {
        self.run(Command::Reset(seed), |c| c.reset_all(seed))
    }

    fn step(&mut self, actions: Actions<'_>) -> Result<&VecBuffers, EnvError> {
        check_actions(&self.action_space, self.buf.num_rows(), &actions)?;
        let (width, agents) = (action_width(&self.action_space), self.buf.num_agents);
        for chunk in self.chunks.iter_mut().skip(1).flatten() {
            chunk.actions.copy_from(actions.slice(chunk.first * agents, (chunk.first + chunk.len()) * agents, width));
        }
        let mode = self.mode;
        let n0 = self.chunks[0].as_ref().map_or(0, |c| c.len());
        self.run(Command::Step(mode), |c| c.step_all(actions.slice(0, n0 * agents, width), mode))
    }

    fn reset_envs(&mut self, mask: &[bool], seed: Option<u64>) -> Result<&VecBuffers, EnvError> {
        check_mask(mask, self.buf.num_envs)?;
        for chunk in self.chunks.iter_mut().skip(1).flatten() {
            let range = chunk.first..chunk.first + chunk.len();
            chunk.mask.copy_from_slice(&mask[range]);
        }
        let n0 = self.chunks[0].as_ref().map_or(0, |c| c.len());
        self.run(Command::ResetMasked(seed), |c| c.reset_masked(&mask[..n0], seed))
    }

    fn buffers(&self) -> &VecBuffers {
        &self.buf
    }
}

impl<P: ParallelEnv + 'static> Drop for ThreadedVecEnv<P> {
    fn drop(&mut self) {
        // Closing the job channels ends the workers' loops; then wait for them.
        let handles: Vec<_> = self.workers.iter_mut().filter_map(|w| w.handle.take()).collect();
        self.workers.clear();
        for handle in handles {
            // A worker that panicked has already reported WorkerStopped; nothing to add.
            let _ = handle.join();
        }
    }
}

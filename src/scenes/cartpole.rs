//! # CartPole-v1
//!
//! The cart-pole balancing task of Barto, Sutton and Anderson, "Neuronlike adaptive
//! elements that can solve difficult learning control problems" (1983), with the
//! equations, constants and thresholds of Gymnasium's `CartPole-v1`
//! (`gymnasium/envs/classic_control/cartpole.py`, Gymnasium 1.4). The state is kept
//! in `f64` and returned as `f32`, as Gymnasium does, so the same state and action
//! give the same next observation.
//!
//! ## Description
//! A pole is attached by an unactuated joint to a cart moving along a frictionless
//! track. The pole starts upright; the goal is to keep it balanced by pushing the
//! cart left or right.
//!
//! ## Action Space
//! `Discrete(2)`: 0 pushes the cart left, 1 pushes it right, with a force of 10 N.
//!
//! ## Observation Space
//! `Box(4)`: cart position in `[-4.8, 4.8]`, cart velocity (unbounded), pole angle in
//! `[-0.418, 0.418]` rad (±24°), pole angular velocity (unbounded).
//!
//! ## Rewards
//! +1 for every step taken, including the terminating one; 0 for steps taken after
//! termination without a reset.
//!
//! ## Starting State
//! Every state variable uniform in `[-0.05, 0.05]`, or in `[low, high]` when the
//! reset options `low` and `high` are given.
//!
//! ## Episode End
//! Terminated when the pole angle leaves ±12° or the cart position leaves ±2.4.
//! Truncated after 500 steps by the registry's time limit.
//!
//! ## Arguments
//! None. Reset options: `low`, `high` (bounds of the initial state).
//!
//! ## Version History
//! - v1: Gymnasium's CartPole-v1 (500-step limit, reward threshold 475).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::env::{Action, BoxSpace, Env, EnvError, Info, ResetOptions, Space, StepOutcome, check_action, check_obs_len};
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};
use crate::util::seed::{DEFAULT_SEED, rng_from_seed};

/// Gravitational acceleration (m/s²).
pub const GRAVITY: f64 = 9.8;
/// Mass of the cart (kg).
pub const MASS_CART: f64 = 1.0;
/// Mass of the pole (kg).
pub const MASS_POLE: f64 = 0.1;
/// Total mass.
pub const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
/// Half the pole's length (m).
pub const LENGTH: f64 = 0.5;
/// Pole mass times half length.
pub const POLEMASS_LENGTH: f64 = MASS_POLE * LENGTH;
/// Magnitude of the push (N).
pub const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates.
pub const TAU: f64 = 0.02;
/// Pole angle beyond which the episode terminates (12° in radians).
pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Cart position beyond which the episode terminates.
pub const X_THRESHOLD: f64 = 2.4;

/// The CartPole-v1 environment without a time limit; `make("cartpole-v1")` adds the
/// 500-step [`TimeLimit`](crate::env::wrappers::TimeLimit).
#[derive(Debug, Clone)]
pub struct CartPole {
    state: Option<[f64; 4]>,
    /// Steps since the last reset (for snapshots).
    steps: u64,
    steps_beyond_terminated: Option<u64>,
    rng: ChaCha8Rng,
    observation_space: Space,
    action_space: Space,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// A new env; it must be reset before stepping.
    pub fn new() -> Self {
        let high = [(X_THRESHOLD * 2.0) as f32, f32::INFINITY, (THETA_THRESHOLD_RADIANS * 2.0) as f32, f32::INFINITY];
        let low = high.map(|h| -h);
        let observation_space = match BoxSpace::new(low.to_vec(), high.to_vec(), vec![4]) {
            Ok(b) => Space::Box(b),
            Err(_) => unreachable!("invariant: CartPole's bounds are finite or infinite, never NaN, and low < high"),
        };
        Self {
            state: None,
            steps: 0,
            steps_beyond_terminated: None,
            rng: rng_from_seed(DEFAULT_SEED),
            observation_space,
            action_space: Space::Discrete { n: 2, start: 0 },
        }
    }

    /// The full-precision state `[x, x_dot, theta, theta_dot]`, if reset.
    pub fn state(&self) -> Option<[f64; 4]> {
        self.state
    }

    /// Sets the state, e.g. to compare transitions with Gymnasium's.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = Some(state);
        self.steps = 0;
        self.steps_beyond_terminated = None;
    }

    fn write_obs(state: &[f64; 4], obs: &mut [f32]) {
        for (o, s) in obs.iter_mut().zip(state) {
            *o = *s as f32;
        }
    }
}

/// Gymnasium's `maybe_parse_reset_bounds`: `low`/`high` options or the defaults.
fn reset_bounds(options: Option<&ResetOptions>) -> Result<(f64, f64), EnvError> {
    let Some(options) = options else { return Ok((-0.05, 0.05)) };
    options.expect_only(&["low", "high"])?;
    let low = options.get("low").unwrap_or(-0.05);
    let high = options.get("high").unwrap_or(0.05);
    if !(low.is_finite() && high.is_finite() && low <= high) {
        return Err(EnvError::InvalidOption { key: "low".into(), reason: format!("need finite low <= high, got low={low}, high={high}") });
    }
    Ok((low, high))
}

impl Env for CartPole {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        check_obs_len(&self.observation_space, obs)?;
        let (low, high) = reset_bounds(options)?;
        if let Some(seed) = seed {
            self.rng = rng_from_seed(seed);
        }
        let state = [(); 4].map(|_| low + (high - low) * self.rng.random::<f64>());
        self.state = Some(state);
        self.steps = 0;
        self.steps_beyond_terminated = None;
        Self::write_obs(&state, obs);
        Ok(Info::default())
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        check_obs_len(&self.observation_space, obs)?;
        check_action(&self.action_space, action)?;
        let [x, x_dot, theta, theta_dot] = self.state.ok_or(EnvError::ResetNeeded)?;
        let force = if action == Action::Discrete(1) { FORCE_MAG } else { -FORCE_MAG };
        let (sintheta, costheta) = theta.sin_cos();

        // Same operation order as Gymnasium, so results agree to the last bit where libm does.
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

        // Euler integration (Gymnasium's default `kinematics_integrator`).
        let state = [x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc];
        self.state = Some(state);
        self.steps += 1;
        Self::write_obs(&state, obs);

        let [x, _, theta, _] = state;
        #[expect(clippy::manual_range_contains, reason = "Gymnasium's comparisons, which differ from a range test on NaN")]
        let terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD_RADIANS || theta > THETA_THRESHOLD_RADIANS;
        let reward = if !terminated {
            1.0
        } else if let Some(beyond) = self.steps_beyond_terminated.as_mut() {
            *beyond += 1;
            0.0
        } else {
            self.steps_beyond_terminated = Some(0);
            1.0
        };
        Ok(StepOutcome { reward, terminated, truncated: false, info: Info::default() })
    }

    /// The cart (a box on the track, the track along x) and the pole (a cylinder
    /// hinged on the cart's top, leaning by θ towards +x), both in the z = 0 plane.
    fn snapshot(&self, out: &mut Snapshot) -> bool {
        let [x, _, theta, _] = self.state.unwrap_or_default();
        let (x, theta) = (x as f32, theta as f32);
        let cart_half = [0.25, 0.15, 0.15];
        let pivot = [x, 2.0 * cart_half[1], 0.0];
        let half_len = LENGTH as f32;
        out.step = self.steps;
        out.time_s = self.steps as f64 * TAU;
        out.objects.clear();
        out.objects.push(ObjectState {
            id: 1,
            class: Class::Cart,
            position: [x, cart_half[1], 0.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
            shape: Shape::Cuboid { half_extents: cart_half },
        });
        // Rotating the up axis by -θ about z points it along (sin θ, cos θ).
        let (s, c) = (-theta * 0.5).sin_cos();
        out.objects.push(ObjectState {
            id: 2,
            class: Class::Pole,
            position: [pivot[0] + half_len * theta.sin(), pivot[1] + half_len * theta.cos(), 0.0],
            rotation: [0.0, 0.0, s, c],
            shape: Shape::Cylinder { radius: 0.05, half_height: half_len },
        });
        true
    }
}

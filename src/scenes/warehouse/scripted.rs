//! A simple scripted baseline for the grid warehouse: a reactive controller that sees
//! only each robot's own observation (rware's flattened layout) plus the floor plan's
//! size and goal cells. It does no path planning:
//!
//! - not carrying: lift a requested shelf it stands under; else turn and drive towards
//!   a requested shelf in view; else wander (forward, turning at random or when blocked);
//! - carrying a requested shelf: steer greedily towards the nearest goal, turning when
//!   the way is blocked (shelves block a loaded robot);
//! - carrying a delivered (no longer requested) shelf: put it down as soon as it is off
//!   a corridor, else wander.
//!
//! It is what a learner should beat, not a strong planner.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::layout::Layout;
use crate::env::policy::act_per_row;
use crate::env::vector::ActionBuffer;
use crate::env::{EnvError, Policy};
use crate::util::seed::rng_from_seed;

const NOOP: i64 = 0;
const FORWARD: i64 = 1;
const LEFT: i64 = 2;
const RIGHT: i64 = 3;
const TOGGLE: i64 = 4;

/// Facing directions in observation order: up, down, left, right, as unit steps.
const STEPS: [(i64, i64); 4] = [(0, -1), (0, 1), (-1, 0), (1, 0)];

/// The reactive grid-warehouse controller.
#[derive(Debug, Clone)]
pub struct GridScripted {
    width: i64,
    height: i64,
    goals: Vec<(i64, i64)>,
    range: i64,
    rng: ChaCha8Rng,
}

impl GridScripted {
    /// A controller for robots on `layout` with sensor range `range`, wandering with a seeded RNG.
    pub fn new(layout: &Layout, range: usize, seed: u64) -> Self {
        Self {
            width: layout.width as i64,
            height: layout.height as i64,
            goals: layout.goals.iter().map(|&(x, y)| (x as i64, y as i64)).collect(),
            range: range as i64,
            rng: rng_from_seed(seed),
        }
    }

    fn obs_dim(&self) -> usize {
        let side = (2 * self.range + 1) as usize;
        8 + 7 * side * side
    }

    /// One robot's action from its observation.
    fn decide(&mut self, obs: &[f32]) -> i64 {
        let (x, y) = (obs[0] as i64, obs[1] as i64);
        let carrying = obs[2] > 0.5;
        let dir = (0..4).find(|&d| obs[3 + d] > 0.5).unwrap_or(0);
        let on_corridor = obs[7] > 0.5;
        let r = self.range;
        let cell = |dx: i64, dy: i64| -> &[f32] {
            let side = 2 * r + 1;
            let idx = ((dy + r) * side + (dx + r)) as usize;
            &obs[8 + idx * 7..8 + idx * 7 + 7]
        };
        let (w, h) = (self.width, self.height);
        let blocked = |dx: i64, dy: i64| -> bool {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= w || ny >= h {
                return true;
            }
            let c = cell(dx, dy);
            c[0] > 0.5 || (carrying && c[5] > 0.5)
        };
        let here = cell(0, 0);
        let target = if !carrying {
            if here[5] > 0.5 && here[6] > 0.5 {
                return TOGGLE;
            }
            // The nearest requested shelf in view.
            let mut best: Option<(i64, i64)> = None;
            for dy in -r..=r {
                for dx in -r..=r {
                    let c = cell(dx, dy);
                    if (dx, dy) != (0, 0)
                        && c[5] > 0.5
                        && c[6] > 0.5
                        && best.is_none_or(|(bx, by)| dx.abs() + dy.abs() < bx.abs() + by.abs())
                    {
                        best = Some((dx, dy));
                    }
                }
            }
            best
        } else if here[6] > 0.5 {
            self.goals.iter().map(|&(gx, gy)| (gx - x, gy - y)).min_by_key(|(dx, dy)| dx.abs() + dy.abs())
        } else {
            if !on_corridor {
                return TOGGLE;
            }
            None
        };
        match target {
            Some((0, 0)) => NOOP,
            Some((tx, ty)) => {
                // Directions that shorten the distance, the longer axis first.
                let mut wanted = Vec::with_capacity(2);
                let horizontal = if tx < 0 { 2 } else { 3 };
                let vertical = if ty < 0 { 0 } else { 1 };
                if tx.abs() >= ty.abs() {
                    wanted.extend([(tx != 0).then_some(horizontal), (ty != 0).then_some(vertical)].into_iter().flatten());
                } else {
                    wanted.extend([(ty != 0).then_some(vertical), (tx != 0).then_some(horizontal)].into_iter().flatten());
                }
                match wanted.into_iter().find(|&d| !blocked(STEPS[d].0, STEPS[d].1)) {
                    Some(d) if d == dir => FORWARD,
                    Some(d) => turn_towards(dir, d),
                    None => self.wander(dir, blocked(STEPS[dir].0, STEPS[dir].1)),
                }
            }
            None => self.wander(dir, blocked(STEPS[dir].0, STEPS[dir].1)),
        }
    }

    fn wander(&mut self, _dir: usize, ahead_blocked: bool) -> i64 {
        if !ahead_blocked && self.rng.random::<f32>() < 0.8 {
            FORWARD
        } else if self.rng.random::<bool>() {
            LEFT
        } else {
            RIGHT
        }
    }
}

/// The turn (LEFT = counter-clockwise) that brings facing `from` closer to `to`.
fn turn_towards(from: usize, to: usize) -> i64 {
    // Counter-clockwise order: up → left → down → right → up.
    let ccw = |d: usize| match d {
        0 => 2,
        2 => 1,
        1 => 3,
        _ => 0,
    };
    if ccw(from) == to { LEFT } else { RIGHT }
}

impl Policy for GridScripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn act(&mut self, obs: &[f32], _active: &[bool], actions: &mut ActionBuffer) -> Result<(), EnvError> {
        act_per_row(obs, self.obs_dim(), actions, "the grid warehouse controller (per robot; use shared agents)", |row| self.decide(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_take_the_short_way() {
        assert_eq!(turn_towards(0, 2), LEFT); // up → left is counter-clockwise
        assert_eq!(turn_towards(0, 3), RIGHT);
        assert_eq!(turn_towards(3, 0), LEFT); // right → up
        assert_eq!(turn_towards(0, 1), RIGHT); // a U-turn starts either way
    }
}

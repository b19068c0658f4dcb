//! A simple scripted baseline for the highway: a rule-based driver reading the
//! kinematics observation (ego row absolute, the others relative, normalised) and
//! choosing meta-actions:
//!
//! - a car less than 25 m ahead in the ego's lane: move to the right lane if it is free
//!   from 10 m behind to 30 m ahead, else the left lane, else brake (SLOWER);
//! - otherwise move right when the right lane is free (the highway rewards the right
//!   lane), speed up when the lane is clear for 40 m, else keep going (IDLE).
//!
//! It is a baseline for learners to beat, not a tuned controller.

use super::road::LANE_WIDTH;
use super::vehicle::MAX_SPEED;
use crate::env::policy::act_per_row;
use crate::env::vector::ActionBuffer;
use crate::env::{EnvError, Policy};

const LANE_LEFT: i64 = 0;
const IDLE: i64 = 1;
const LANE_RIGHT: i64 = 2;
const FASTER: i64 = 3;
const SLOWER: i64 = 4;

/// Per-vehicle features of the kinematics observation.
const FEATURES: usize = 7;
/// The observation's longitudinal range (highway-env: 5 × the maximum speed).
const PERCEPTION_DISTANCE: f64 = 5.0 * MAX_SPEED;

/// The rule-based highway driver.
#[derive(Debug, Clone)]
pub struct HighwayScripted {
    lanes: usize,
    vehicles: usize,
}

impl HighwayScripted {
    /// A driver for a straight road of `lanes` lanes, observing `vehicles` rows.
    pub fn new(lanes: usize, vehicles: usize) -> Self {
        Self { lanes: lanes.max(1), vehicles }
    }

    /// The meta-action for one ego's kinematics observation.
    pub fn decide(&self, obs: &[f32]) -> i64 {
        let y_range = LANE_WIDTH * self.lanes as f64;
        let ego_lane = (f64::from(obs[2]) * y_range / LANE_WIDTH).round() as i64;
        // The nearest vehicle in lane offset -1 (left), 0, +1 (right) within [behind, ahead] metres.
        let occupied = |offset: i64, behind: f64, ahead: f64| {
            obs.chunks(FEATURES).skip(1).filter(|v| v[0] > 0.5).any(|v| {
                let dx = f64::from(v[1]) * PERCEPTION_DISTANCE;
                let dy = f64::from(v[2]) * y_range;
                let lane = (dy / LANE_WIDTH).round() as i64;
                lane == offset && dx > -behind && dx < ahead
            })
        };
        let has_left = ego_lane > 0;
        let has_right = ego_lane + 1 < self.lanes as i64;
        if occupied(0, 0.0, 25.0) {
            if has_right && !occupied(1, 10.0, 30.0) {
                LANE_RIGHT
            } else if has_left && !occupied(-1, 10.0, 30.0) {
                LANE_LEFT
            } else {
                SLOWER
            }
        } else if has_right && !occupied(1, 10.0, 30.0) {
            LANE_RIGHT
        } else if !occupied(0, 0.0, 40.0) {
            FASTER
        } else {
            IDLE
        }
    }
}

impl Policy for HighwayScripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn act(&mut self, obs: &[f32], _active: &[bool], actions: &mut ActionBuffer) -> Result<(), EnvError> {
        act_per_row(obs, self.vehicles * FEATURES, actions, "the highway driver", |row| self.decide(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(ego_lane: f64, others: &[(f64, f64)]) -> Vec<f32> {
        let y_range = LANE_WIDTH * 4.0;
        let mut o = vec![0.0f32; 5 * FEATURES];
        o[0] = 1.0;
        o[2] = (ego_lane * LANE_WIDTH / y_range) as f32;
        for (k, (dx, dlane)) in others.iter().enumerate() {
            let row = &mut o[(k + 1) * FEATURES..(k + 2) * FEATURES];
            row[0] = 1.0;
            row[1] = (dx / PERCEPTION_DISTANCE) as f32;
            row[2] = (dlane * LANE_WIDTH / y_range) as f32;
        }
        o
    }

    #[test]
    fn keeps_right_overtakes_and_brakes() {
        let d = HighwayScripted::new(4, 5);
        assert_eq!(d.decide(&obs(3.0, &[])), FASTER, "rightmost lane, clear road");
        assert_eq!(d.decide(&obs(1.0, &[])), LANE_RIGHT, "free right lane");
        assert_eq!(d.decide(&obs(3.0, &[(15.0, 0.0)])), LANE_LEFT, "blocked ahead, no right lane");
        assert_eq!(d.decide(&obs(3.0, &[(15.0, 0.0), (5.0, -1.0)])), SLOWER, "boxed in");
        assert_eq!(d.decide(&obs(3.0, &[(35.0, 0.0)])), IDLE, "car ahead, not close");
    }
}

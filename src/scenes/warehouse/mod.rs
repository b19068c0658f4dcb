//! # Warehouse
//!
//! Multi-robot warehouses in which robots fetch requested shelves, carry them to goal
//! stations and put them back.
//!
//! ## Description
//! `grid` mode follows the published rules of rware 2.0 (see [`grid`]): robots on a
//! grid turn, move one cell, and lift or put down shelves; robots without a load pass
//! under shelves, loaded robots only move along corridors and empty cells. Each
//! delivery of a requested shelf to a goal replaces it in the request queue with a
//! random unrequested shelf.
//!
//! ## Action Space
//! Per robot `Discrete(5)`: NOOP, FORWARD, LEFT, RIGHT, TOGGLE_LOAD. The single-agent
//! view ([`Joint`](crate::env::Joint)) takes `Discrete(5)` for one robot and
//! `MultiDiscrete([5; n])` for `n` robots.
//!
//! ## Observation Space
//! Per robot a `Box` of `8 + 7 (2r+1)²` numbers (71 for the default 3x3 view); see
//! [`GridWarehouse::observe`]. The single-agent view concatenates the robots'.
//!
//! ## Rewards
//! `individual` (default): +1 to the robot that delivers; `global`: +1 to every robot
//! per delivery; `two_stage`: +0.5 for the delivery and +0.5 for putting the shelf
//! back. The single-agent view sums the robots' rewards.
//!
//! ## Starting State
//! A shelf on every non-corridor cell; robots on distinct random cells with random
//! directions; a random request queue. Procedural layouts are drawn at each reset.
//!
//! ## Episode End
//! Never terminates; truncated after `max_steps` (500) or `max_inactivity_steps`.
//!
//! ## Arguments
//! A [`GridConfig`], from code or from a TOML scene file (`scenes/*.toml`).
//!
//! ## Version History
//! - v0: rware 2.0 grid rules.

pub mod config;
pub mod grid;
pub mod layout;
pub mod physics;
pub mod scripted;
mod tiebreak;

pub use config::{ActionKind, GridConfig, LayoutConfig, Mode, PhysicsConfig, RewardType, WarehouseScene};
pub use grid::{Direction, GridAction, GridWarehouse, Robot};
pub use layout::Layout;
pub use physics::PhysicsWarehouse;

use crate::snapshot::Snapshot;

/// Pushes the floor and the goal stations of `layout` into a snapshot (ids 0, 1, …)
/// and returns the next free id. Shared by the grid and physics warehouses.
pub(crate) fn push_floor_and_goals(layout: &Layout, out: &mut Snapshot) -> u32 {
    use crate::snapshot::{Class, ObjectState, Shape};
    let (w, h) = (layout.width as f32, layout.height as f32);
    out.objects.push(ObjectState {
        id: 0,
        class: Class::Floor,
        position: [w / 2.0, -0.05, h / 2.0],
        rotation: ObjectState::yaw(0.0),
        shape: Shape::Cuboid { half_extents: [w / 2.0, 0.05, h / 2.0] },
    });
    for (k, &(gx, gy)) in layout.goals.iter().enumerate() {
        out.objects.push(ObjectState {
            id: 1 + k as u32,
            class: Class::Goal,
            position: [gx as f32 + 0.5, 0.005, gy as f32 + 0.5],
            rotation: ObjectState::yaw(0.0),
            shape: Shape::Cuboid { half_extents: [0.45, 0.005, 0.45] },
        });
    }
    1 + layout.goals.len() as u32
}

//! The rapier3d adapter: a physics world with a fixed time step, planar robot bodies,
//! static obstacles, contact queries and ray-cast lidar.
//!
//! Everything rapier-specific stays here: callers pass and receive plain arrays
//! (`[x, y, z]`, yaw angles), so no rapier or glam type leaks out (bevy uses glam
//! 0.32 and rapier glam 0.33). Only [`plugin`] touches bevy, to hold the world as an
//! ECS resource and step it in a schedule. rapier3d is built with
//! `enhanced-determinism`, so the same inputs give the same trajectory everywhere.

pub mod plugin;
mod world;

pub use world::{Groups, Handle, LidarConfig, PlanarBox, SimWorld, rectangles_overlap};

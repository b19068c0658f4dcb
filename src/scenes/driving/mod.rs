//! # Driving
//!
//! Highway, merge, intersection, roundabout and parking scenes after highway-env
//! (Leurent, 2018): a road network of lanes, an ego vehicle with a kinematic
//! bicycle model, and traffic driven by IDM and MOBIL.

pub mod config;
mod env;
pub mod road;
mod scene;
pub mod scripted;
pub mod vehicle;

pub use config::{ActionKind, DrivingConfig, ObservationKind, RoadSegment, SceneKind, SegmentShape};
pub use env::DrivingEnv;

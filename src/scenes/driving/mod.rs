//! # Driving
//!
//! Highway, merge, intersection, roundabout and parking scenes after highway-env
//! (Leurent, 2018): a road network of lanes, an ego vehicle with a kinematic
//! bicycle model, and traffic driven by IDM and MOBIL.

pub mod road;
pub mod vehicle;

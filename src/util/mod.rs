//! Small leaf helpers shared by every module. Depends only on std and rand.

pub mod fs;
pub mod memory;
pub mod metrics;
pub mod seed;

//! The bevy side of the simulation: the physics world as an ECS resource and the
//! system that steps it, ordered by [`SimSystems`].

use bevy::ecs::schedule::{InternedScheduleLabel, ScheduleLabel};
use bevy::prelude::*;

use super::SimWorld;

/// The physics world of a scene, as a resource.
#[derive(Resource)]
pub struct Physics(pub SimWorld);

/// System sets of the simulation step; scenes order their systems around them.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Advances the physics world by one fixed step.
    Step,
}

/// Steps the physics world once.
pub fn step_physics(mut physics: ResMut<Physics>) {
    physics.0.step();
}

/// Adds the physics world (stepping `dt` seconds) and [`step_physics`] to `schedule`.
pub struct SimPlugin {
    /// The schedule that advances the scene by one step.
    pub schedule: InternedScheduleLabel,
    /// Physics time step in seconds.
    pub dt: f32,
}

impl SimPlugin {
    /// A plugin stepping `dt` seconds in `schedule`.
    pub fn new(schedule: impl ScheduleLabel, dt: f32) -> Self {
        Self { schedule: schedule.intern(), dt }
    }
}

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Physics(SimWorld::new(self.dt))).add_systems(self.schedule, step_physics.in_set(SimSystems::Step));
    }
}

//! Snapshots: the pose, shape and semantic class of every object in a scene at one
//! instant. Simulations emit them; the recorder, renderer and viewer consume them.
//!
//! World frame: metres, Y up, the ground at `y = 0`; a warehouse grid cell `(col, row)`
//! is the unit square whose centre is `(col + 0.5, row + 0.5)` in `(x, z)`.
//! Depends on nothing but serde.

use serde::{Deserialize, Serialize};

/// What an object is, for labels (class ids in masks and datasets) and styling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Class {
    /// Ground plane.
    Floor,
    /// A mobile warehouse robot.
    Robot,
    /// A shelf (rack) that robots lift and carry.
    Shelf,
    /// A shelf that is currently requested for delivery.
    RequestedShelf,
    /// A pick/drop (goal) station.
    Goal,
    /// A traffic vehicle (or parked car).
    Vehicle,
    /// A controlled (ego) vehicle.
    EgoVehicle,
    /// A lane surface.
    Road,
    /// CartPole's cart.
    Cart,
    /// CartPole's pole.
    Pole,
    /// A pallet on the floor (a dataset distractor).
    Pallet,
    /// A person standing in a warehouse or by a road (a dataset distractor).
    Person,
    /// A traffic cone (a dataset distractor).
    Cone,
    /// A sign on a post (a dataset distractor).
    Sign,
}

impl Class {
    /// Every class, in id order.
    pub const ALL: [Class; 14] = [
        Class::Floor,
        Class::Robot,
        Class::Shelf,
        Class::RequestedShelf,
        Class::Goal,
        Class::Vehicle,
        Class::EgoVehicle,
        Class::Road,
        Class::Cart,
        Class::Pole,
        Class::Pallet,
        Class::Person,
        Class::Cone,
        Class::Sign,
    ];

    /// Stable numeric id (0 is reserved for background in masks, so ids start at 1).
    pub fn id(self) -> u32 {
        match self {
            Class::Floor => 1,
            Class::Robot => 2,
            Class::Shelf => 3,
            Class::RequestedShelf => 4,
            Class::Goal => 5,
            Class::Vehicle => 6,
            Class::EgoVehicle => 7,
            Class::Road => 8,
            Class::Cart => 9,
            Class::Pole => 10,
            Class::Pallet => 11,
            Class::Person => 12,
            Class::Cone => 13,
            Class::Sign => 14,
        }
    }

    /// Whether the class is a surface ("stuff": floor, road) rather than a countable object;
    /// surfaces appear in semantic masks but get no instance annotation.
    pub fn is_surface(self) -> bool {
        matches!(self, Class::Floor | Class::Road)
    }

    /// The class named `name` (as [`Class::name`] spells it).
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Lower-case name, as used in dataset category lists.
    pub fn name(self) -> &'static str {
        match self {
            Class::Floor => "floor",
            Class::Robot => "robot",
            Class::Shelf => "shelf",
            Class::RequestedShelf => "requested_shelf",
            Class::Goal => "goal",
            Class::Vehicle => "vehicle",
            Class::EgoVehicle => "ego_vehicle",
            Class::Road => "road",
            Class::Cart => "cart",
            Class::Pole => "pole",
            Class::Pallet => "pallet",
            Class::Person => "person",
            Class::Cone => "cone",
            Class::Sign => "sign",
        }
    }
}

/// The collision/visual shape of an object, centred on its position.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    /// An axis-aligned (before rotation) box.
    Cuboid {
        /// Half extents along x, y, z.
        half_extents: [f32; 3],
    },
    /// A cylinder around the y axis.
    Cylinder {
        /// Radius.
        radius: f32,
        /// Half of the height.
        half_height: f32,
    },
}

/// One object at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    /// Identifier, stable for the object's lifetime within an episode (instance id).
    pub id: u32,
    /// Semantic class.
    pub class: Class,
    /// Centre position `[x, y, z]`.
    pub position: [f32; 3],
    /// Orientation as a unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Shape.
    pub shape: Shape,
}

impl ObjectState {
    /// The quaternion of a rotation by `yaw` radians around the up (y) axis.
    pub fn yaw(yaw: f32) -> [f32; 4] {
        let (s, c) = (yaw * 0.5).sin_cos();
        [0.0, s, 0.0, c]
    }
}

/// Every object in the scene at one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Simulation step since the episode's reset.
    pub step: u64,
    /// Simulated seconds since the episode's reset.
    pub time_s: f64,
    /// The objects.
    pub objects: Vec<ObjectState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_ids_are_unique_and_nonzero() {
        let ids: Vec<u32> = Class::ALL.iter().map(|c| c.id()).collect();
        assert!(ids.iter().all(|&i| i > 0));
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn yaw_quaternion_is_unit_and_rotates_about_y() {
        let q = ObjectState::yaw(std::f32::consts::FRAC_PI_2);
        let norm: f32 = q.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-6);
        assert_eq!((q[0], q[2]), (0.0, 0.0));
    }
}

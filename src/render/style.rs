//! Visual models: how each semantic class looks, built from the unit primitives of
//! [`super::mesh`], and the per-instance colours that domain randomisation varies.
//!
//! A [`RenderScene`] is what both the GPU renderer and the label rasteriser consume: a
//! list of objects (instance id, class) and the parts (primitive, transform, material)
//! that draw them. Parts never leave their object's snapshot shape, so boxes computed
//! from a snapshot's shapes bound what is drawn.
//!
//! Visual models live in [`super::mesh`]; this file picks the model of a class and its
//! colours.

use bevy::math::{Quat, Vec3};
use bevy::transform::components::Transform;
use rand::Rng;

use super::mesh::MeshKind;
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};
use crate::util::seed::rng_from_seed;

/// A surface's look, in bevy's PBR terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Material {
    /// Base colour, sRGB in `[0, 1]`.
    pub color: [f32; 3],
    /// Perceptual roughness in `[0.089, 1]`.
    pub roughness: f32,
    /// Metallic in `[0, 1]`.
    pub metallic: f32,
}

/// One drawn primitive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Part {
    /// Index of the owning object in [`RenderScene::objects`].
    pub object: u32,
    /// Which unit primitive.
    pub mesh: MeshKind,
    /// Unit primitive → world (translation, rotation and non-uniform scale; no shear).
    pub transform: Transform,
    /// Its material.
    pub material: Material,
}

/// An object of a [`RenderScene`]: the snapshot's instance id and class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SceneObject {
    /// Instance id from the snapshot.
    pub id: u32,
    /// Semantic class.
    pub class: Class,
}

/// Everything to draw for one image: objects and their parts (grouped by object, in
/// object order; today one part an object, its class model).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderScene {
    /// The objects, in snapshot order.
    pub objects: Vec<SceneObject>,
    /// The parts; those of one object are contiguous.
    pub parts: Vec<Part>,
}

/// How objects are coloured: nominal class colours, or colours randomised per class and
/// per instance from a seed (the same seed and instance id always give the same colour,
/// so an object keeps its colour through an episode).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Appearance {
    /// Seed of the randomised colours; `None` draws every class in its nominal colour.
    pub seed: Option<u64>,
    /// Largest per-channel change of an instance's colour, as a fraction (0.25 = ±25%).
    pub jitter: f32,
}

impl Default for Appearance {
    fn default() -> Self {
        Appearance { seed: None, jitter: 0.0 }
    }
}

/// Nominal sRGB colour, roughness and metallic of a class.
fn nominal(class: Class) -> Material {
    let (color, roughness, metallic) = match class {
        Class::Floor => ([0.55, 0.55, 0.52], 0.9, 0.0),
        Class::Road => ([0.23, 0.23, 0.25], 0.95, 0.0),
        Class::Robot => ([0.95, 0.55, 0.10], 0.5, 0.1),
        Class::Shelf => ([0.20, 0.35, 0.70], 0.6, 0.3),
        Class::RequestedShelf => ([0.85, 0.20, 0.20], 0.6, 0.3),
        Class::Goal => ([0.20, 0.70, 0.30], 0.8, 0.0),
        Class::Vehicle => ([0.25, 0.45, 0.85], 0.35, 0.5),
        Class::EgoVehicle => ([0.10, 0.80, 0.30], 0.35, 0.5),
        Class::Cart => ([0.30, 0.30, 0.30], 0.6, 0.2),
        Class::Pole => ([0.80, 0.60, 0.30], 0.7, 0.0),
        Class::Pallet => ([0.62, 0.47, 0.27], 0.9, 0.0),
        Class::Person => ([0.30, 0.35, 0.55], 0.9, 0.0),
        Class::Cone => ([1.00, 0.45, 0.05], 0.7, 0.0),
        Class::Sign => ([0.92, 0.92, 0.92], 0.5, 0.2),
    };
    Material { color, roughness, metallic }
}

/// Traffic comes in many colours; randomised vehicles draw theirs from this list.
const CAR_COLORS: [[f32; 3]; 8] = [
    [0.85, 0.85, 0.85],
    [0.10, 0.10, 0.12],
    [0.60, 0.62, 0.65],
    [0.70, 0.10, 0.10],
    [0.15, 0.25, 0.60],
    [0.90, 0.75, 0.15],
    [0.25, 0.45, 0.30],
    [0.45, 0.30, 0.20],
];

impl Appearance {
    /// The material of instance `id` of `class`.
    pub fn material(&self, class: Class, id: u32) -> Material {
        let mut m = nominal(class);
        let Some(seed) = self.seed else { return m };
        let class_seed = seed ^ (class.id() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // One draw per class (shared tint) and one per instance (jitter).
        let mut class_rng = rng_from_seed(class_seed);
        let mut rng = rng_from_seed(class_seed ^ (id as u64 + 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
        if class == Class::Vehicle {
            m.color = CAR_COLORS[rng.random_range(0..CAR_COLORS.len())];
        }
        let j = self.jitter;
        let tint: [f32; 3] = std::array::from_fn(|_| 1.0 + class_rng.random_range(-j..=j) * 0.5);
        for (c, t) in m.color.iter_mut().zip(tint) {
            let jitter = if j > 0.0 { rng.random_range(-j..=j) } else { 0.0 };
            *c = (*c * t * (1.0 + jitter)).clamp(0.0, 1.0);
        }
        m.roughness = (m.roughness + rng.random_range(-0.2..=0.2f32)).clamp(0.089, 1.0);
        m
    }
}

/// Size of a shape's bounding box (full extents along x, y, z).
pub(crate) fn extents(shape: &Shape) -> Vec3 {
    match *shape {
        Shape::Cuboid { half_extents } => Vec3::from_array(half_extents) * 2.0,
        Shape::Cylinder { radius, half_height } => Vec3::new(2.0 * radius, 2.0 * half_height, 2.0 * radius),
    }
}

/// The mesh that draws `class` (scaled to the extents of `shape`).
fn model(class: Class, shape: &Shape) -> MeshKind {
    match class {
        Class::Shelf | Class::RequestedShelf => MeshKind::Shelf,
        Class::Robot => MeshKind::Robot,
        Class::Vehicle | Class::EgoVehicle => MeshKind::Vehicle,
        Class::Person => MeshKind::Person,
        Class::Cone => MeshKind::TrafficCone,
        Class::Sign => MeshKind::Sign,
        _ => match shape {
            Shape::Cuboid { .. } => MeshKind::Cube,
            Shape::Cylinder { .. } => MeshKind::Cylinder,
        },
    }
}

impl RenderScene {
    /// The scene that draws `snapshot` with `appearance`.
    pub fn from_snapshot(snapshot: &Snapshot, appearance: &Appearance) -> RenderScene {
        let mut scene = RenderScene::default();
        for object in &snapshot.objects {
            scene.push(object, appearance);
        }
        scene
    }

    /// Appends one object and its parts.
    pub fn push(&mut self, object: &ObjectState, appearance: &Appearance) {
        let index = self.objects.len() as u32;
        self.objects.push(SceneObject { id: object.id, class: object.class });
        self.parts.push(Part {
            object: index,
            mesh: model(object.class, &object.shape),
            transform: Transform {
                translation: Vec3::from_array(object.position),
                rotation: Quat::from_array(object.rotation).normalize(),
                scale: extents(&object.shape),
            },
            material: appearance.material(object.class, object.id),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randomised_colours_are_stable_per_instance_and_vary_with_the_seed() {
        let a = Appearance { seed: Some(1), jitter: 0.2 };
        assert_eq!(a.material(Class::Robot, 7), a.material(Class::Robot, 7));
        assert_ne!(a.material(Class::Robot, 7), a.material(Class::Robot, 8));
        let b = Appearance { seed: Some(2), jitter: 0.2 };
        assert_ne!(a.material(Class::Robot, 7), b.material(Class::Robot, 7));
        assert_eq!(Appearance::default().material(Class::Robot, 7), nominal(Class::Robot));
    }
}

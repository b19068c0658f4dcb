//! Domain randomisation: from one seed, the camera, light, colours and distractors of an
//! image. Every draw comes from the RNG passed in, so an image is a pure function of its
//! seed and the scene state.

use bevy::math::{Quat, Vec3};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::camera::CameraView;
use super::renderer::Lighting;
use super::style::Appearance;
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};

/// Where cameras stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CameraMode {
    /// An oblique view of the scene from a random side, 25-65° above the horizon.
    #[default]
    Fixed,
    /// Straight down over the scene.
    TopDown,
    /// Mounted on the ego vehicle (or the first robot), looking ahead.
    Ego,
    /// Each image picks one of the three.
    Random,
}

/// What to randomise.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Randomization {
    /// Camera placement.
    pub camera: CameraMode,
    /// Randomise colours, light, camera pose and field of view (off: nominal look, fixed
    /// light and a canonical pose for the camera mode).
    pub enabled: bool,
    /// Largest number of distractor objects (pallets, people, cones, signs) added per image.
    pub max_distractors: u32,
}

/// The ground region a camera frames: centre and radius on the `y = 0` plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Centre.
    pub centre: Vec3,
    /// Radius (metres).
    pub radius: f32,
}

/// The object an ego camera rides on: an ego vehicle, else the first robot or cart.
pub fn ego_object(snapshot: &Snapshot) -> Option<&ObjectState> {
    [Class::EgoVehicle, Class::Robot, Class::Cart].iter().find_map(|c| snapshot.objects.iter().find(|o| o.class == *c))
}

/// The region worth framing: the floor if the scene has one; on roads (which run for
/// kilometres) 30 m around the ego object; otherwise everything.
pub fn region(snapshot: &Snapshot) -> Region {
    let bounds = |objects: &mut dyn Iterator<Item = &ObjectState>| {
        let mut lo = Vec3::splat(f32::MAX);
        let mut hi = Vec3::splat(f32::MIN);
        for o in objects {
            let r = half_extent_xz(&o.shape);
            let p = Vec3::from_array(o.position);
            lo = lo.min(p - Vec3::new(r, 0.0, r));
            hi = hi.max(p + Vec3::new(r, 0.0, r));
        }
        (lo.x <= hi.x).then(|| Region {
            centre: Vec3::new((lo.x + hi.x) / 2.0, 0.0, (lo.z + hi.z) / 2.0),
            radius: ((hi.x - lo.x).max(hi.z - lo.z) / 2.0).max(1.0),
        })
    };
    if let Some(r) = bounds(&mut snapshot.objects.iter().filter(|o| o.class == Class::Floor)) {
        return r;
    }
    let on_road = snapshot.objects.iter().any(|o| o.class == Class::Road);
    if let Some(ego) = ego_object(snapshot).filter(|_| on_road) {
        return Region { centre: Vec3::new(ego.position[0], 0.0, ego.position[2]), radius: 30.0 };
    }
    bounds(&mut snapshot.objects.iter()).unwrap_or(Region { centre: Vec3::ZERO, radius: 5.0 })
}

/// The largest horizontal half extent of a shape (a bounding radius on the ground, for
/// boxes up to √2 too small, which placement tolerates).
fn half_extent_xz(shape: &Shape) -> f32 {
    match *shape {
        Shape::Cuboid { half_extents } => half_extents[0].max(half_extents[2]),
        Shape::Cylinder { radius, .. } => radius,
    }
}

/// A camera in `mode` for `snapshot`, jittered by `rng` when `randomize`.
pub fn camera(mode: CameraMode, snapshot: &Snapshot, randomize: bool, rng: &mut ChaCha8Rng) -> CameraView {
    let mode = match mode {
        CameraMode::Random => [CameraMode::Fixed, CameraMode::TopDown, CameraMode::Ego][rng.random_range(0..3)],
        m => m,
    };
    let fov_y_deg = if randomize { rng.random_range(40.0..70.0f32) } else { 55.0 };
    let half_fov = (fov_y_deg / 2.0).to_radians();
    let region = region(snapshot);
    let mut jitter = |scale: f32| if randomize { rng.random_range(-scale..=scale) } else { 0.0 };
    match (mode, ego_object(snapshot)) {
        (CameraMode::Ego, Some(ego)) => {
            let q = Quat::from_array(ego.rotation).normalize();
            let pos = Vec3::from_array(ego.position);
            let (top, front) = match ego.shape {
                Shape::Cuboid { half_extents } => (half_extents[1], half_extents[2]),
                Shape::Cylinder { radius, half_height } => (half_height, radius),
            };
            // On the roof, at the front, looking ahead and slightly down.
            let eye = pos + q * Vec3::new(jitter(0.1), top + 0.25 + jitter(0.1), front * 0.5);
            let ahead = q * Vec3::new(jitter(0.15), -0.12 + jitter(0.05), 1.0);
            CameraView { eye: eye.to_array(), target: (eye + ahead * 10.0).to_array(), up: [0.0, 1.0, 0.0], fov_y_deg, near: 0.05 }
        }
        (CameraMode::TopDown, _) => {
            let height = region.radius * 1.1 / half_fov.tan() * (1.0 + jitter(0.1));
            let target = region.centre + Vec3::new(jitter(0.1), 0.0, jitter(0.1)) * region.radius;
            let yaw = jitter(std::f32::consts::PI);
            let up = Quat::from_rotation_y(yaw) * Vec3::NEG_Z;
            CameraView { eye: (target + Vec3::Y * height).to_array(), target: target.to_array(), up: up.to_array(), fov_y_deg, near: 0.1 }
        }
        // Fixed, and Ego on a scene with nothing to ride.
        _ => {
            let azimuth = if randomize { jitter(std::f32::consts::PI) } else { 0.6 };
            let elevation = if randomize { 45f32.to_radians() + jitter(20f32.to_radians()) } else { 45f32.to_radians() };
            let distance = region.radius * 1.2 / half_fov.tan() * (1.0 + jitter(0.15));
            let dir = Vec3::new(elevation.cos() * azimuth.sin(), elevation.sin(), elevation.cos() * azimuth.cos());
            let target = region.centre + Vec3::new(jitter(0.15), 0.0, jitter(0.15)) * region.radius;
            CameraView { eye: (target + dir * distance).to_array(), target: target.to_array(), up: [0.0, 1.0, 0.0], fov_y_deg, near: 0.1 }
        }
    }
}

/// Light for one image: nominal, or a random sun and sky.
pub fn lighting(randomize: bool, rng: &mut ChaCha8Rng) -> Lighting {
    if !randomize {
        return Lighting::default();
    }
    let azimuth = rng.random_range(0.0..std::f32::consts::TAU);
    let elevation = rng.random_range(25f32..80.0).to_radians();
    let warmth = rng.random_range(-0.08..0.08f32);
    let sky_tint = rng.random_range(0.75..1.1f32);
    Lighting {
        sun_direction: [-elevation.cos() * azimuth.sin(), -elevation.sin(), -elevation.cos() * azimuth.cos()],
        sun_lux: rng.random_range(2_500.0..10_000.0),
        sun_color: [1.0, 1.0 - warmth.abs() * 0.5, 1.0 - warmth - 0.04],
        ambient: rng.random_range(250.0..1_000.0),
        sky: [0.62 * sky_tint, 0.72 * sky_tint, (0.85 * sky_tint).min(1.0)],
    }
}

/// Colours: nominal, or randomised per class and instance from a fresh seed.
pub fn appearance(randomize: bool, rng: &mut ChaCha8Rng) -> Appearance {
    if randomize { Appearance { seed: Some(rng.random()), jitter: 0.2 } } else { Appearance::default() }
}

/// Adds up to `max` distractors (pallets, people, cones, signs) to `snapshot`, on free
/// ground in `region`, with ids after the snapshot's largest.
pub fn add_distractors(snapshot: &mut Snapshot, region: Region, max: u32, rng: &mut ChaCha8Rng) {
    if max == 0 {
        return;
    }
    let count = rng.random_range(0..=max);
    let mut next_id = snapshot.objects.iter().map(|o| o.id + 1).max().unwrap_or(0);
    let occupied: Vec<(Vec3, f32)> = snapshot
        .objects
        .iter()
        .filter(|o| !o.class.is_surface() && o.class != Class::Goal)
        .map(|o| (Vec3::from_array(o.position), half_extent_xz(&o.shape)))
        .collect();
    let mut placed: Vec<(Vec3, f32)> = Vec::new();
    for _ in 0..count {
        let class = [Class::Pallet, Class::Person, Class::Cone, Class::Sign][rng.random_range(0..4)];
        let shape = match class {
            Class::Pallet => Shape::Cuboid { half_extents: [0.6, 0.075, 0.4] },
            Class::Person => Shape::Cylinder { radius: 0.25, half_height: rng.random_range(0.8..0.95) },
            Class::Cone => Shape::Cylinder { radius: 0.18, half_height: 0.35 },
            _ => Shape::Cuboid { half_extents: [0.35, 1.1, 0.03] },
        };
        let r = half_extent_xz(&shape);
        let half_height = match shape {
            Shape::Cuboid { half_extents } => half_extents[1],
            Shape::Cylinder { half_height, .. } => half_height,
        };
        // A few tries at a free spot; give up on this one if the region is crowded.
        for _ in 0..8 {
            let angle = rng.random_range(0.0..std::f32::consts::TAU);
            let dist = region.radius * rng.random::<f32>().sqrt();
            let p = region.centre + Vec3::new(angle.cos() * dist, 0.0, angle.sin() * dist);
            let free = occupied.iter().chain(&placed).all(|(q, s)| (Vec3::new(q.x, 0.0, q.z) - p).length() > r + s + 0.1);
            if free {
                placed.push((p, r));
                snapshot.objects.push(ObjectState {
                    id: next_id,
                    class,
                    position: [p.x, half_height, p.z],
                    rotation: ObjectState::yaw(rng.random_range(0.0..std::f32::consts::TAU)),
                    shape,
                });
                next_id += 1;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    fn floor_snapshot() -> Snapshot {
        Snapshot {
            objects: vec![ObjectState {
                id: 0,
                class: Class::Floor,
                position: [5.0, -0.05, 3.0],
                rotation: ObjectState::yaw(0.0),
                shape: Shape::Cuboid { half_extents: [5.0, 0.05, 3.0] },
            }],
            ..Snapshot::default()
        }
    }

    #[test]
    fn cameras_look_at_the_region_and_are_seeded() {
        let snap = floor_snapshot();
        for mode in [CameraMode::Fixed, CameraMode::TopDown, CameraMode::Ego, CameraMode::Random] {
            let a = camera(mode, &snap, true, &mut rng_from_seed(1));
            assert_eq!(a, camera(mode, &snap, true, &mut rng_from_seed(1)));
            assert_ne!(a, camera(mode, &snap, true, &mut rng_from_seed(2)));
            // The floor's centre is in view.
            let (px, _) = a.project([5.0, 0.0, 3.0], 100, 100).expect("in front");
            assert!((0.0..100.0).contains(&px[0]) && (0.0..100.0).contains(&px[1]), "{mode:?}: {px:?}");
        }
    }

    #[test]
    fn distractors_land_on_free_ground_with_fresh_ids() {
        let mut snap = floor_snapshot();
        snap.objects.push(ObjectState {
            id: 1,
            class: Class::Shelf,
            position: [5.0, 0.5, 3.0],
            rotation: ObjectState::yaw(0.0),
            shape: Shape::Cuboid { half_extents: [0.4, 0.5, 0.4] },
        });
        let r = region(&snap);
        add_distractors(&mut snap, r, 12, &mut rng_from_seed(3));
        let added = &snap.objects[2..];
        assert!(!added.is_empty());
        for (k, o) in added.iter().enumerate() {
            assert_eq!(o.id, 2 + k as u32);
            let d = (Vec3::from_array(o.position) - Vec3::new(5.0, o.position[1], 3.0)).length();
            assert!(d > 0.4, "{o:?} overlaps the shelf");
        }
    }
}

//! Viewer geometry without a GPU: the cameras of each mode and the lidar rays drawn
//! over the scene.

use bevy::math::{Quat, Vec2, Vec3};

use crate::render::CameraView;
use crate::snapshot::{Class, ObjectState, Shape, Snapshot};

/// The free camera: orbits `focus` at `distance`, `yaw` around the vertical and `pitch`
/// above the horizon (radians).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orbit {
    /// The point looked at.
    pub focus: Vec3,
    /// Angle around the vertical axis.
    pub yaw: f32,
    /// Angle above the ground plane (kept between 5° and 89°).
    pub pitch: f32,
    /// Distance from the focus (metres).
    pub distance: f32,
}

impl Orbit {
    /// An orbit that frames `scene` from the south-west, 40° up.
    pub fn framing(scene: &Snapshot) -> Orbit {
        let region = crate::render::randomize::region(scene);
        Orbit { focus: region.centre, yaw: -0.6, pitch: 40f32.to_radians(), distance: (region.radius * 2.2).max(3.0) }
    }

    /// Turns by `dx`, `dy` radians (mouse drag).
    pub fn rotate(&mut self, dx: f32, dy: f32) {
        self.yaw -= dx;
        self.pitch = (self.pitch + dy).clamp(5f32.to_radians(), 89f32.to_radians());
    }

    /// Moves closer (`steps > 0`) or away, 10% a step.
    pub fn zoom(&mut self, steps: f32) {
        self.distance = (self.distance * 0.9f32.powf(steps)).clamp(0.5, 2_000.0);
    }

    /// Slides the focus over the ground: `forward` and `right` in units of the distance.
    pub fn pan(&mut self, forward: f32, right: f32) {
        let ahead = Vec3::new(-self.yaw.sin(), 0.0, -self.yaw.cos());
        let side = Vec3::new(-ahead.z, 0.0, ahead.x);
        self.focus += (ahead * forward + side * right) * self.distance;
    }

    /// The camera on this orbit.
    pub fn view(&self) -> CameraView {
        let dir = Vec3::new(self.pitch.cos() * self.yaw.sin(), self.pitch.sin(), self.pitch.cos() * self.yaw.cos());
        let eye = self.focus + dir * self.distance;
        CameraView { eye: eye.to_array(), target: self.focus.to_array(), up: [0.0, 1.0, 0.0], fov_y_deg: 55.0, near: 0.05 }
    }
}

/// Length of an object's footprint's longest side (its diameter for cylinders).
fn size(o: &ObjectState) -> f32 {
    match o.shape {
        Shape::Cuboid { half_extents } => 2.0 * half_extents[0].max(half_extents[2]),
        Shape::Cylinder { radius, .. } => 2.0 * radius,
    }
}

/// The object's forward direction on the ground (its local +z).
pub fn forward(o: &ObjectState) -> Vec3 {
    let f = Quat::from_array(o.rotation).normalize() * Vec3::Z;
    Vec3::new(f.x, 0.0, f.z).normalize_or(Vec3::Z)
}

/// A chase camera behind `o`, looking past it, scaled to its size.
pub fn follow(o: &ObjectState) -> CameraView {
    let s = size(o).max(0.2);
    let pos = Vec3::from_array(o.position);
    let ahead = forward(o);
    let eye = pos - ahead * (2.5 * s + 1.5) + Vec3::Y * (1.2 * s + 1.5);
    let target = pos + ahead * (1.5 * s);
    CameraView { eye: eye.to_array(), target: target.to_array(), up: [0.0, 1.0, 0.0], fov_y_deg: 55.0, near: 0.05 }
}

/// One lidar ray: from the sensor to where it stops, and whether it hit something.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ray {
    /// Start (the sensor, at its object's centre height).
    pub from: Vec3,
    /// End: the first hit, or the end of the range.
    pub to: Vec3,
    /// Whether it hit an object before its range.
    pub hit: bool,
}

/// Distance along the ground ray `origin + t·dir` (`|dir| = 1`) to `o`'s footprint, if it
/// is hit at `t ≥ 0`.
fn hit_distance(o: &ObjectState, origin: Vec2, dir: Vec2) -> Option<f32> {
    let centre = Vec2::new(o.position[0], o.position[2]);
    match o.shape {
        Shape::Cylinder { radius, .. } => {
            let to = centre - origin;
            let along = to.dot(dir);
            let miss2 = to.length_squared() - along * along;
            if miss2 > radius * radius {
                return None;
            }
            let half = (radius * radius - miss2).sqrt();
            let t = if along - half >= 0.0 { along - half } else { along + half };
            (t >= 0.0).then_some(t.max(0.0))
        }
        Shape::Cuboid { half_extents } => {
            // Into the box's frame (its yaw about y), then a slab test.
            let f = forward(o);
            let (axis_z, axis_x) = (Vec2::new(f.x, f.z), Vec2::new(f.z, -f.x));
            let rel = origin - centre;
            let (p, d) = (Vec2::new(rel.dot(axis_x), rel.dot(axis_z)), Vec2::new(dir.dot(axis_x), dir.dot(axis_z)));
            let half = Vec2::new(half_extents[0], half_extents[2]);
            let (mut lo, mut hi) = (0.0f32, f32::INFINITY);
            for k in 0..2 {
                if d[k].abs() < 1e-9 {
                    if p[k].abs() > half[k] {
                        return None;
                    }
                } else {
                    let (a, b) = ((-half[k] - p[k]) / d[k], (half[k] - p[k]) / d[k]);
                    lo = lo.max(a.min(b));
                    hi = hi.min(a.max(b));
                }
            }
            (lo <= hi).then_some(lo)
        }
    }
}

/// `rays` lidar rays around object `agent` of `scene`, evenly spaced from its heading,
/// each stopped by the first footprint of another object (floors, roads and goal pads
/// are flat and let rays pass) within `range` metres.
pub fn lidar(scene: &Snapshot, agent: usize, rays: usize, range: f32) -> Vec<Ray> {
    let Some(me) = scene.objects.get(agent) else { return Vec::new() };
    let from = Vec3::from_array(me.position);
    let origin = Vec2::new(from.x, from.z);
    let heading = forward(me);
    let heading = heading.z.atan2(heading.x);
    let obstacles: Vec<&ObjectState> = scene
        .objects
        .iter()
        .enumerate()
        .filter(|&(i, o)| i != agent && !o.class.is_surface() && o.class != Class::Goal)
        .map(|(_, o)| o)
        .collect();
    (0..rays)
        .map(|j| {
            let angle = heading + j as f32 * std::f32::consts::TAU / rays as f32;
            let dir = Vec2::new(angle.cos(), angle.sin());
            let t = obstacles.iter().filter_map(|o| hit_distance(o, origin, dir)).fold(range, f32::min);
            Ray { from, to: from + Vec3::new(dir.x, 0.0, dir.y) * t, hit: t < range }
        })
        .collect()
}

/// Lidar range for a scene's agents: road scale or warehouse scale.
pub fn lidar_range(agent: &ObjectState) -> f32 {
    if agent.class == Class::EgoVehicle { 60.0 } else { 4.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: u32, class: Class, x: f32, z: f32, yaw: f32, shape: Shape) -> ObjectState {
        ObjectState { id, class, position: [x, 0.5, z], rotation: ObjectState::yaw(yaw), shape }
    }

    #[test]
    fn lidar_rays_stop_at_the_first_footprint() {
        let cyl = Shape::Cylinder { radius: 0.5, half_height: 0.5 };
        let boxy = Shape::Cuboid { half_extents: [1.0, 0.5, 2.0] };
        let scene = Snapshot {
            step: 0,
            time_s: 0.0,
            objects: vec![
                // Heading +z (yaw 0): ray 0 points along +z.
                object(1, Class::Robot, 0.0, 0.0, 0.0, cyl),
                object(2, Class::Shelf, 0.0, 5.0, 0.0, cyl),
                object(3, Class::Shelf, 0.0, 3.0, 0.0, cyl),
                // A box turned 90°: its 2 m half-length lies along x, so it spans x ∈ [6, 10].
                object(4, Class::Vehicle, 8.0, 0.0, std::f32::consts::FRAC_PI_2, boxy),
                object(5, Class::Goal, 0.0, -2.0, 0.0, cyl),
            ],
        };
        let rays = lidar(&scene, 0, 4, 20.0);
        assert_eq!(rays.len(), 4);
        // Ray 0 along +z hits the nearer shelf's near side at z = 2.5.
        assert!(rays[0].hit && (rays[0].to.z - 2.5).abs() < 1e-4, "{:?}", rays[0]);
        // A quarter turn on is +x (the heading angle grows from +z towards +x in atan2(z, x)
        // terms: the rays go round in order); one of the side rays meets the box at x = 6.
        let side = rays.iter().find(|r| r.to.x > 1.0).expect("a ray along +x");
        assert!(side.hit && (side.to.x - 6.0).abs() < 1e-4, "{side:?}");
        // The goal pad behind lets its ray run to the end of the range.
        let back = rays.iter().find(|r| r.to.z < -1.0).expect("a ray along -z");
        assert!(!back.hit && (back.to.z + 20.0).abs() < 1e-3, "{back:?}");
        assert!(lidar(&scene, 9, 4, 20.0).is_empty(), "no such agent");
    }

    #[test]
    fn cameras_look_at_the_followed_object_and_orbit_stays_above_ground() {
        let car = object(1, Class::EgoVehicle, 10.0, 0.0, std::f32::consts::FRAC_PI_2, Shape::Cuboid { half_extents: [1.0, 0.7, 2.5] });
        let view = follow(&car);
        // Heading +x: the camera sits behind (smaller x), above, and looks ahead of the car.
        assert!(view.eye[0] < 10.0 && view.eye[1] > 1.0 && view.target[0] > 10.0, "{view:?}");
        assert!(view.project([10.0, 0.5, 0.0], 640, 360).is_some(), "the car is in front of the camera");
        let mut orbit = Orbit { focus: Vec3::ZERO, yaw: 0.0, pitch: 0.5, distance: 10.0 };
        orbit.rotate(0.3, 5.0);
        assert!(orbit.view().eye[1] > 0.0 && orbit.pitch <= 89f32.to_radians());
        orbit.zoom(1.0);
        assert!((orbit.distance - 9.0).abs() < 1e-4);
        orbit.pan(1.0, 0.0);
        assert!(orbit.focus.length() > 8.9, "panned by one distance");
    }
}

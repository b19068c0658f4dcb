//! Pinhole cameras: where they stand, where they look, their field of view, and the
//! projection of world points to pixels.
//!
//! The matrices are bevy's own (`Transform::looking_at` and `PerspectiveProjection`),
//! so the label rasteriser projects exactly as the GPU does.

use bevy::camera::{CameraProjection, PerspectiveProjection};
use bevy::math::{Mat4, Vec3, Vec4};
use bevy::transform::components::Transform;
use serde::{Deserialize, Serialize};

/// A perspective camera looking from `eye` at `target`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraView {
    /// Position in world coordinates (metres).
    pub eye: [f32; 3],
    /// The point the camera looks at.
    pub target: [f32; 3],
    /// The world direction that appears up in the image.
    pub up: [f32; 3],
    /// Vertical field of view, in degrees.
    pub fov_y_deg: f32,
    /// Distance of the near clipping plane (metres); the far plane is at infinity.
    pub near: f32,
}

impl CameraView {
    /// The camera's pose as a bevy transform (looking down its local -z).
    pub fn transform(&self) -> Transform {
        Transform::from_translation(Vec3::from_array(self.eye)).looking_at(Vec3::from_array(self.target), Vec3::from_array(self.up))
    }

    /// The projection for an image of `width` x `height` pixels.
    pub fn projection(&self, width: u32, height: u32) -> PerspectiveProjection {
        PerspectiveProjection {
            fov: self.fov_y_deg.to_radians(),
            aspect_ratio: width as f32 / height as f32,
            near: self.near,
            ..PerspectiveProjection::default()
        }
    }

    /// The world → clip matrix for an image of `width` x `height` pixels.
    pub fn clip_from_world(&self, width: u32, height: u32) -> Mat4 {
        let view_from_world = self.transform().to_matrix().inverse();
        self.projection(width, height).get_clip_from_view() * view_from_world
    }

    /// The planes bounding the view (left, right, bottom, top, near) as `(n, d)` with
    /// `n · p + d ≥ 0` inside and `|n| = 1`.
    pub fn frustum_planes(&self, width: u32, height: u32) -> [Vec4; 5] {
        let m = self.clip_from_world(width, height);
        let (r0, r1, r3) = (m.row(0), m.row(1), m.row(3));
        let planes = [r3 + r0, r3 - r0, r3 + r1, r3 - r1, r3 - Vec4::new(0.0, 0.0, 0.0, self.near)];
        planes.map(|p| p / p.truncate().length().max(1e-12))
    }

    /// The pixel `(x, y)` (origin top-left, y down) and depth along the optical axis of a
    /// world point, or `None` behind the near plane.
    pub fn project(&self, point: [f32; 3], width: u32, height: u32) -> Option<([f32; 2], f32)> {
        let clip = self.clip_from_world(width, height) * Vec4::new(point[0], point[1], point[2], 1.0);
        (clip.w >= self.near).then(|| (ndc_to_pixel(clip.x / clip.w, clip.y / clip.w, width, height), clip.w))
    }
}

/// Normalised device coordinates to pixel coordinates (origin at the top-left corner).
pub fn ndc_to_pixel(x: f32, y: f32, width: u32, height: u32) -> [f32; 2] {
    [(x * 0.5 + 0.5) * width as f32, (0.5 - y * 0.5) * height as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_projects_to_the_image_centre_at_its_distance() {
        let cam = CameraView { eye: [3.0, 4.0, 0.0], target: [3.0, 0.0, 0.0], up: [0.0, 0.0, -1.0], fov_y_deg: 60.0, near: 0.1 };
        let (px, depth) = cam.project([3.0, 0.0, 0.0], 128, 64).expect("in front");
        assert!((px[0] - 64.0).abs() < 1e-4 && (px[1] - 32.0).abs() < 1e-4, "{px:?}");
        assert!((depth - 4.0).abs() < 1e-5);
        // Up is -z, so a point at smaller z is higher in the image; the vertical field of
        // view spans the image height: tan(30°)·4 m above the target is the top edge.
        let top = 4.0 * 30f32.to_radians().tan();
        let (px, _) = cam.project([3.0, 0.0, -top], 128, 64).expect("in front");
        assert!(px[1].abs() < 1e-3, "{px:?}");
        assert!(cam.project([3.0, 5.0, 0.0], 128, 64).is_none(), "behind the camera");
        let inside = |p: [f32; 3]| cam.frustum_planes(128, 64).iter().all(|pl| pl.truncate().dot(Vec3::from_array(p)) + pl.w >= 0.0);
        assert!(inside([3.0, 0.0, 0.0]) && inside([3.0, 0.0, -top * 0.99]));
        assert!(!inside([3.0, 0.0, -top * 1.01]) && !inside([3.0, 4.5, 0.0]));
    }
}

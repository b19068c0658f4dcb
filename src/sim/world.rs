//! [`SimWorld`]: rapier's `PhysicsWorld` with the operations our scenes need.

use rapier3d::prelude::*;

/// Collision layers: what a body is, and what it collides with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Groups {
    /// Layers the collider belongs to (bit mask).
    pub memberships: u32,
    /// Layers it collides with (bit mask).
    pub filter: u32,
}

impl Groups {
    fn to_rapier(self) -> InteractionGroups {
        InteractionGroups::new(
            Group::from_bits_truncate(self.memberships),
            Group::from_bits_truncate(self.filter),
            InteractionTestMode::And,
        )
    }
}

/// A body with one collider in the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    body: RigidBodyHandle,
    collider: ColliderHandle,
}

/// A planar lidar: `rays` rays spread evenly over `fov` radians around the heading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LidarConfig {
    /// Number of rays.
    pub rays: usize,
    /// Field of view in radians (2π for all around).
    pub fov: f32,
    /// Maximum range in metres.
    pub range: f32,
    /// Height of the rays above the ground.
    pub height: f32,
    /// Layers the rays hit (bit mask).
    pub hits: u32,
}

/// A rapier world with zero gravity (scenes are planar) and a fixed step `dt`.
pub struct SimWorld {
    world: PhysicsWorld,
}

impl SimWorld {
    /// An empty world stepping `dt` seconds at a time.
    pub fn new(dt: f32) -> Self {
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::ZERO;
        world.integration_parameters.dt = dt;
        Self { world }
    }

    /// The fixed time step in seconds.
    pub fn dt(&self) -> f32 {
        self.world.integration_parameters.dt
    }

    /// Advances the simulation by one `dt`.
    pub fn step(&mut self) {
        self.world.step();
    }

    /// A static box centred at `center` (no rigid body: it never moves unless told to).
    pub fn add_static_box(&mut self, center: [f32; 3], half_extents: [f32; 3], groups: Groups) -> Handle {
        let body = self.world.insert_body(RigidBodyBuilder::fixed().translation(Vector::from_array(center)));
        let collider = self.world.insert_collider(
            ColliderBuilder::cuboid(half_extents[0], half_extents[1], half_extents[2]).collision_groups(groups.to_rapier()),
            Some(body),
        );
        Handle { body, collider }
    }

    /// A robot: a dynamic cylinder that only translates in the ground plane and
    /// only turns about the vertical axis; driven by [`Self::set_planar_velocity`].
    pub fn add_planar_robot(&mut self, center: [f32; 3], yaw: f32, radius: f32, half_height: f32, groups: Groups) -> Handle {
        let body = RigidBodyBuilder::dynamic()
            .translation(Vector::from_array(center))
            .rotation(Vector::new(0.0, yaw, 0.0))
            .locked_axes(LockedAxes::TRANSLATION_LOCKED_Y | LockedAxes::ROTATION_LOCKED_X | LockedAxes::ROTATION_LOCKED_Z)
            .can_sleep(false);
        let collider = ColliderBuilder::cylinder(half_height, radius).friction(0.0).collision_groups(groups.to_rapier());
        let (body, collider) = self.world.insert(body, collider);
        Handle { body, collider }
    }

    /// Sets a robot's forward speed (m/s, along its heading) and yaw rate (rad/s).
    /// Heading `yaw` points along `(sin yaw, 0, cos yaw)`.
    pub fn set_planar_velocity(&mut self, h: Handle, forward: f32, yaw_rate: f32) {
        let yaw = self.yaw(h);
        if let Some(b) = self.world.bodies.get_mut(h.body) {
            b.set_linvel(Vector::new(yaw.sin() * forward, 0.0, yaw.cos() * forward), true);
            b.set_angvel(Vector::new(0.0, yaw_rate, 0.0), true);
        }
    }

    /// Position `[x, y, z]` of a body.
    pub fn position(&self, h: Handle) -> [f32; 3] {
        self.world.bodies.get(h.body).map_or([0.0; 3], |b| b.translation().to_array())
    }

    /// Heading of a body about the vertical axis.
    pub fn yaw(&self, h: Handle) -> f32 {
        self.world.bodies.get(h.body).map_or(0.0, |b| {
            let q = b.rotation();
            // For a rotation about y only, q = (0, sin(θ/2), 0, cos(θ/2)).
            2.0 * q.y.atan2(q.w)
        })
    }

    /// Forward speed along the heading and yaw rate of a body.
    pub fn planar_velocity(&self, h: Handle) -> (f32, f32) {
        let yaw = self.yaw(h);
        self.world.bodies.get(h.body).map_or((0.0, 0.0), |b| {
            let v = b.linvel();
            (v.x * yaw.sin() + v.z * yaw.cos(), b.angvel().y)
        })
    }

    /// Moves a static body (e.g. a shelf being put down or carried).
    pub fn teleport(&mut self, h: Handle, center: [f32; 3], yaw: f32) {
        if let Some(b) = self.world.bodies.get_mut(h.body) {
            b.set_translation(Vector::from_array(center), true);
            b.set_rotation(Rotation::from_rotation_y(yaw), true);
        }
    }

    /// Enables or disables a body's collider (a carried shelf collides with nothing).
    pub fn set_collider_enabled(&mut self, h: Handle, enabled: bool) {
        if let Some(c) = self.world.colliders.get_mut(h.collider) {
            c.set_enabled(enabled);
        }
    }

    /// Changes a collider's layers.
    pub fn set_groups(&mut self, h: Handle, groups: Groups) {
        if let Some(c) = self.world.colliders.get_mut(h.collider) {
            c.set_collision_groups(groups.to_rapier());
        }
    }

    /// Whether a body's collider touched anything during the last step.
    pub fn in_contact(&self, h: Handle) -> bool {
        self.world.contact_pairs_with(h.collider).any(|p| p.has_any_active_contact())
    }

    /// Casts a planar lidar from body `h` and writes each ray's hit distance divided
    /// by the range (1 for no hit) into `out` (`lidar.rays` values). With a full
    /// circle (`fov` ≥ 2π) ray 0 points along the heading and ray `i` at
    /// `yaw + i 2π / rays` (counter-clockwise seen from above); a narrower fan spans
    /// `yaw - fov/2 ..= yaw + fov/2` evenly. The body's own collider is ignored.
    pub fn cast_lidar(&self, h: Handle, lidar: &LidarConfig, out: &mut [f32]) {
        let [x, _, z] = self.position(h);
        let yaw = self.yaw(h);
        let filter = QueryFilter::default().exclude_collider(h.collider).groups(InteractionGroups::new(
            Group::ALL,
            Group::from_bits_truncate(lidar.hits),
            InteractionTestMode::And,
        ));
        let query = self.world.query_pipeline_with_filter(filter);
        let origin = Vector::new(x, lidar.height, z);
        let (start, step) = if lidar.fov >= std::f32::consts::TAU || lidar.rays < 2 {
            (yaw, std::f32::consts::TAU / lidar.rays as f32)
        } else {
            (yaw - lidar.fov / 2.0, lidar.fov / (lidar.rays - 1) as f32)
        };
        for (i, o) in out.iter_mut().enumerate().take(lidar.rays) {
            let a = start + i as f32 * step;
            let ray = Ray::new(origin, Vector::new(a.sin(), 0.0, a.cos()));
            *o = query.cast_ray(&ray, lidar.range, true).map_or(1.0, |(_, toi)| (toi / lidar.range).clamp(0.0, 1.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOT: u32 = 1;
    const WALL: u32 = 2;

    #[test]
    fn robots_drive_along_their_heading_and_stop_at_walls() {
        let mut w = SimWorld::new(0.1);
        let robot = w.add_planar_robot([0.0, 0.2, 0.0], 0.0, 0.3, 0.15, Groups { memberships: ROBOT, filter: ROBOT | WALL });
        w.add_static_box([0.0, 0.5, 3.0], [2.0, 0.5, 0.1], Groups { memberships: WALL, filter: ROBOT });
        for _ in 0..10 {
            w.set_planar_velocity(robot, 1.0, 0.0);
            w.step();
        }
        let [x, y, z] = w.position(robot);
        assert!((z - 1.0).abs() < 0.05 && x.abs() < 1e-4 && (y - 0.2).abs() < 1e-4, "1 m along +z: {x} {y} {z}");
        assert!((w.planar_velocity(robot).0 - 1.0).abs() < 1e-3);
        for _ in 0..40 {
            w.set_planar_velocity(robot, 1.0, 0.0);
            w.step();
        }
        let z = w.position(robot)[2];
        assert!(z < 3.0 - 0.1 - 0.3 + 0.05, "the wall stops the robot: z = {z}");
        assert!(w.in_contact(robot));
    }

    #[test]
    fn robots_turn_and_lidar_measures_distance() {
        let mut w = SimWorld::new(0.1);
        let robot = w.add_planar_robot([0.0, 0.2, 0.0], 0.0, 0.3, 0.15, Groups { memberships: ROBOT, filter: ROBOT | WALL });
        w.add_static_box([2.0, 0.5, 0.0], [0.1, 0.5, 2.0], Groups { memberships: WALL, filter: ROBOT });
        for _ in 0..10 {
            w.set_planar_velocity(robot, 0.0, std::f32::consts::FRAC_PI_2);
            w.step();
        }
        let yaw = w.yaw(robot);
        assert!((yaw - std::f32::consts::FRAC_PI_2).abs() < 1e-3, "a quarter turn to face +x: {yaw}");
        let lidar = LidarConfig { rays: 4, fov: std::f32::consts::TAU, range: 5.0, height: 0.2, hits: WALL };
        let mut out = [0.0; 4];
        w.cast_lidar(robot, &lidar, &mut out);
        // Ray 0 looks ahead (+x) and hits the wall 1.9 m away; the others miss.
        assert!((out[0] - 1.9 / 5.0).abs() < 1e-3, "{out:?}");
        assert_eq!((out[1], out[2], out[3]), (1.0, 1.0, 1.0));
        let fan = LidarConfig { rays: 3, fov: std::f32::consts::FRAC_PI_2, ..lidar };
        let mut out = [0.0; 3];
        w.cast_lidar(robot, &fan, &mut out);
        let diagonal = 1.9 / std::f32::consts::FRAC_1_SQRT_2 / 5.0;
        assert!((out[0] - diagonal).abs() < 1e-3 && (out[1] - 0.38).abs() < 1e-3 && (out[2] - diagonal).abs() < 1e-3, "{out:?}");
    }

    #[test]
    fn collision_layers_decide_who_touches_whom() {
        let mut w = SimWorld::new(0.1);
        let shelf = 4;
        let robot = w.add_planar_robot([0.0, 0.2, 0.0], 0.0, 0.3, 0.15, Groups { memberships: ROBOT, filter: ROBOT });
        let s = w.add_static_box([0.0, 0.5, 1.0], [0.4, 0.5, 0.4], Groups { memberships: shelf, filter: ROBOT });
        for _ in 0..10 {
            w.set_planar_velocity(robot, 1.0, 0.0);
            w.step();
        }
        assert!(w.position(robot)[2] > 0.95, "an unloaded robot passes under the shelf");
        w.set_groups(robot, Groups { memberships: ROBOT, filter: ROBOT | shelf });
        w.teleport(s, [0.0, 0.5, 2.5], 0.0);
        for _ in 0..20 {
            w.set_planar_velocity(robot, 1.0, 0.0);
            w.step();
        }
        assert!(w.position(robot)[2] < 2.5 - 0.4 - 0.3 + 0.05, "a loaded robot is blocked by it");
    }
}

/// A rectangle in a plane: centre, heading (radians) and half extents (along, across).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanarBox {
    /// Centre.
    pub center: [f64; 2],
    /// Rotation of the first extent from the x axis.
    pub heading: f64,
    /// Half length and half width.
    pub half_extents: [f64; 2],
}

/// Whether two planar rectangles overlap, by rapier's (parry's) exact cuboid test.
/// The pose of `b` relative to `a` is formed in `f64` first, so large world
/// coordinates lose no precision.
pub fn rectangles_overlap(a: &PlanarBox, b: &PlanarBox) -> bool {
    use rapier3d::parry::query::details::intersection_test_cuboid_cuboid;
    use rapier3d::parry::shape::Cuboid;
    let (dx, dy) = (b.center[0] - a.center[0], b.center[1] - a.center[1]);
    let (s, c) = a.heading.sin_cos();
    let local = Vector::new((c * dx + s * dy) as f32, (-s * dx + c * dy) as f32, 0.0);
    let pos12 = Pose::from_parts(local, Rotation::from_rotation_z((b.heading - a.heading) as f32));
    let ca = Cuboid::new(Vector::new(a.half_extents[0] as f32, a.half_extents[1] as f32, 1.0));
    let cb = Cuboid::new(Vector::new(b.half_extents[0] as f32, b.half_extents[1] as f32, 1.0));
    intersection_test_cuboid_cuboid(&pos12, &ca, &cb)
}

#[cfg(test)]
mod planar_tests {
    use super::*;

    #[test]
    fn rectangles_overlap_exactly() {
        let car = |x: f64, y: f64, h: f64| PlanarBox { center: [x, y], heading: h, half_extents: [2.5, 1.0] };
        assert!(rectangles_overlap(&car(1000.0, 0.0, 0.0), &car(1004.9, 0.0, 0.0)));
        assert!(!rectangles_overlap(&car(1000.0, 0.0, 0.0), &car(1005.1, 0.0, 0.0)));
        assert!(!rectangles_overlap(&car(0.0, 0.0, 0.0), &car(0.0, 2.1, 0.0)));
        assert!(rectangles_overlap(&car(0.0, 0.0, 0.0), &car(0.0, 3.0, std::f64::consts::FRAC_PI_2)));
        assert!(!rectangles_overlap(&car(0.0, 0.0, 0.7), &car(4.0, 3.5, 0.7)));
    }
}

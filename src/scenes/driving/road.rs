//! Road networks: lanes (straight and circular) joined into a directed graph of road
//! segments, after highway-env's `road/lane.py` and `road/road.py`
//! (Leurent, "An Environment for Autonomous Driving Decision-Making", 2018).
//!
//! Coordinates are metres in the road plane, `x` forward on a highway, `y` to the
//! right (lane 0 is the leftmost); headings are radians from the `x` axis towards `y`.

use std::f64::consts::PI;

/// Length of a vehicle, used for lane extents (metres).
pub const VEHICLE_LENGTH: f64 = 5.0;
/// Default lane width (metres).
pub const LANE_WIDTH: f64 = 4.0;

/// Length of the highway scene's straight road (m).
pub const HIGHWAY_LENGTH: f64 = 10_000.0;

/// Wraps an angle to `(-π, π]`.
pub fn wrap_to_pi(a: f64) -> f64 {
    // Most inputs are differences of wrapped angles, within one turn of the range.
    if (-PI..PI).contains(&a) {
        a
    } else if (PI..3.0 * PI).contains(&a) {
        a - 2.0 * PI
    } else if (-3.0 * PI..-PI).contains(&a) {
        a + 2.0 * PI
    } else {
        (a + PI).rem_euclid(2.0 * PI) - PI
    }
}

/// How a lane border is painted; continuous borders forbid lane changes across them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineType {
    /// No marking.
    None,
    /// Dashed marking: may be crossed.
    Striped,
    /// Solid marking.
    Continuous,
}

/// The centre line of a lane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Geometry {
    /// A segment from `start` to `end`.
    Straight {
        /// Start point.
        start: [f64; 2],
        /// End point.
        end: [f64; 2],
    },
    /// An arc of a circle around `center`, from `start_phase` to `end_phase`.
    Circular {
        /// Centre of the circle.
        center: [f64; 2],
        /// Radius of the centre line.
        radius: f64,
        /// Angle of the start point.
        start_phase: f64,
        /// Angle of the end point.
        end_phase: f64,
        /// Whether the phase increases along the lane.
        clockwise: bool,
    },
}

/// One lane: its centre line, width, markings and rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// Centre line.
    pub geometry: Geometry,
    /// Width in metres.
    pub width: f64,
    /// Markings on the left and right borders.
    pub line_types: [LineType; 2],
    /// Whether vehicles may not change into this lane.
    pub forbidden: bool,
    /// Speed limit in m/s.
    pub speed_limit: f64,
    /// Right of way at junctions: higher goes first.
    pub priority: i32,
    length: f64,
    /// Straight lanes: unit direction, its left-to-right normal and its heading.
    dir: [f64; 2],
    dir_lat: [f64; 2],
    heading: f64,
}

impl Lane {
    /// A straight lane.
    pub fn straight(start: [f64; 2], end: [f64; 2], width: f64, line_types: [LineType; 2], speed_limit: f64) -> Self {
        let (dx, dy) = (end[0] - start[0], end[1] - start[1]);
        let length = (dx * dx + dy * dy).sqrt();
        let dir = if length > 0.0 { [dx / length, dy / length] } else { [1.0, 0.0] };
        Self {
            geometry: Geometry::Straight { start, end },
            width,
            line_types,
            forbidden: false,
            speed_limit,
            priority: 0,
            length,
            dir,
            dir_lat: [-dir[1], dir[0]],
            heading: dir[1].atan2(dir[0]),
        }
    }

    /// A circular lane; `clockwise` means the phase increases along the lane.
    #[expect(clippy::too_many_arguments, reason = "the fields of highway-env's CircularLane, in its order")]
    pub fn circular(
        center: [f64; 2],
        radius: f64,
        start_phase: f64,
        end_phase: f64,
        clockwise: bool,
        width: f64,
        line_types: [LineType; 2],
        speed_limit: f64,
    ) -> Self {
        let direction = if clockwise { 1.0 } else { -1.0 };
        Self {
            geometry: Geometry::Circular { center, radius, start_phase, end_phase, clockwise },
            width,
            line_types,
            forbidden: false,
            speed_limit,
            priority: 0,
            length: radius * (end_phase - start_phase) * direction,
            dir: [0.0; 2],
            dir_lat: [0.0; 2],
            heading: 0.0,
        }
    }

    /// Sets the right of way.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Forbids changing into this lane.
    pub fn forbid(mut self) -> Self {
        self.forbidden = true;
        self
    }

    /// Length of the centre line.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// The point at longitudinal `s` and lateral offset `lat` (positive to the right).
    pub fn position(&self, s: f64, lat: f64) -> [f64; 2] {
        match self.geometry {
            Geometry::Straight { start, .. } => {
                [start[0] + s * self.dir[0] + lat * self.dir_lat[0], start[1] + s * self.dir[1] + lat * self.dir_lat[1]]
            }
            Geometry::Circular { center, radius, start_phase, clockwise, .. } => {
                let d = if clockwise { 1.0 } else { -1.0 };
                let phi = d * s / radius + start_phase;
                let r = radius - lat * d;
                [center[0] + r * phi.cos(), center[1] + r * phi.sin()]
            }
        }
    }

    /// The heading of the centre line at `s`.
    pub fn heading_at(&self, s: f64) -> f64 {
        match self.geometry {
            Geometry::Straight { .. } => self.heading,
            Geometry::Circular { radius, start_phase, clockwise, .. } => {
                let d = if clockwise { 1.0 } else { -1.0 };
                let phi = d * s / radius + start_phase;
                phi + PI / 2.0 * d
            }
        }
    }

    /// `(s, lat)` of a point in this lane's frame.
    pub fn local_coordinates(&self, p: [f64; 2]) -> (f64, f64) {
        match self.geometry {
            Geometry::Straight { start, .. } => {
                let (dx, dy) = (p[0] - start[0], p[1] - start[1]);
                (dx * self.dir[0] + dy * self.dir[1], dx * self.dir_lat[0] + dy * self.dir_lat[1])
            }
            Geometry::Circular { center, radius, start_phase, clockwise, .. } => {
                let d = if clockwise { 1.0 } else { -1.0 };
                let (dx, dy) = (p[0] - center[0], p[1] - center[1]);
                let phi = start_phase + wrap_to_pi(dy.atan2(dx) - start_phase);
                let r = (dx * dx + dy * dy).sqrt();
                (d * (phi - start_phase) * radius, d * (radius - r))
            }
        }
    }

    /// Whether a point at `(s, lat)` is on the lane, widened by `margin`.
    pub fn on_lane(&self, s: f64, lat: f64, margin: f64) -> bool {
        lat.abs() <= self.width / 2.0 + margin && (-VEHICLE_LENGTH..self.length + VEHICLE_LENGTH).contains(&s)
    }

    /// Whether a vehicle at `p` could change into this lane.
    pub fn is_reachable_from(&self, p: [f64; 2]) -> bool {
        if self.forbidden {
            return false;
        }
        let (s, lat) = self.local_coordinates(p);
        lat.abs() <= 2.0 * self.width && (0.0..self.length + VEHICLE_LENGTH).contains(&s)
    }

    /// Whether a vehicle at `p` has (nearly) reached the end of the lane.
    pub fn after_end(&self, p: [f64; 2]) -> bool {
        self.local_coordinates(p).0 > self.length - VEHICLE_LENGTH / 2.0
    }

    /// Distance from `p` to the lane, plus the heading mismatch (radians).
    pub fn distance_with_heading(&self, p: [f64; 2], heading: f64) -> f64 {
        let (s, lat) = self.local_coordinates(p);
        lat.abs() + (s - self.length).max(0.0) + (-s).max(0.0) + wrap_to_pi(heading - self.heading_at(s)).abs()
    }
}

/// A lane's address: road segment from node `from` to node `to`, lane `id` (0 leftmost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaneIndex {
    /// Start node.
    pub from: u16,
    /// End node.
    pub to: u16,
    /// Lane within the segment.
    pub id: u16,
}

/// A road segment: the lanes from one node to another.
#[derive(Clone, Debug, PartialEq)]
struct Segment {
    from: u16,
    to: u16,
    lanes: Vec<usize>,
}

/// A directed graph of road segments between named nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoadNetwork {
    nodes: Vec<String>,
    segments: Vec<Segment>,
    lanes: Vec<Lane>,
    /// For each lane: its index.
    lane_index: Vec<LaneIndex>,
}

impl RoadNetwork {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, name: &str) -> u16 {
        match self.nodes.iter().position(|n| n == name) {
            Some(i) => i as u16,
            None => {
                self.nodes.push(name.to_owned());
                (self.nodes.len() - 1) as u16
            }
        }
    }

    /// The id of node `name`.
    pub fn node_id(&self, name: &str) -> Option<u16> {
        self.nodes.iter().position(|n| n == name).map(|i| i as u16)
    }

    /// The name of node `id`.
    pub fn node_name(&self, id: u16) -> &str {
        self.nodes.get(id as usize).map_or("?", String::as_str)
    }

    /// Adds `lane` as the next lane of the segment `from` → `to`.
    pub fn add_lane(&mut self, from: &str, to: &str, lane: Lane) -> LaneIndex {
        let (f, t) = (self.node(from), self.node(to));
        let li = self.lanes.len();
        self.lanes.push(lane);
        let seg = match self.segments.iter().position(|s| s.from == f && s.to == t) {
            Some(i) => i,
            None => {
                self.segments.push(Segment { from: f, to: t, lanes: Vec::new() });
                self.segments.len() - 1
            }
        };
        let id = self.segments[seg].lanes.len() as u16;
        self.segments[seg].lanes.push(li);
        let index = LaneIndex { from: f, to: t, id };
        self.lane_index.push(index);
        index
    }

    /// All lanes with their indices.
    pub fn lanes(&self) -> impl Iterator<Item = (LaneIndex, &Lane)> {
        self.lane_index.iter().copied().zip(&self.lanes)
    }

    /// Number of road segments.
    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// Number of lanes.
    pub fn num_lanes(&self) -> usize {
        self.lanes.len()
    }

    fn segment(&self, from: u16, to: u16) -> Option<&Segment> {
        self.segments.iter().find(|s| s.from == from && s.to == to)
    }

    /// The lane at `index`.
    pub fn lane(&self, index: LaneIndex) -> Option<&Lane> {
        self.segment(index.from, index.to).and_then(|s| s.lanes.get(index.id as usize)).map(|&i| &self.lanes[i])
    }

    /// Number of lanes in the segment `from` → `to`.
    pub fn lanes_in(&self, from: u16, to: u16) -> usize {
        self.segment(from, to).map_or(0, |s| s.lanes.len())
    }

    /// Lanes next to `index` in its segment (left, then right).
    pub fn side_lanes(&self, index: LaneIndex) -> impl Iterator<Item = LaneIndex> + '_ {
        let n = self.lanes_in(index.from, index.to) as u16;
        [index.id.checked_sub(1), (index.id + 1 < n).then_some(index.id + 1)].into_iter().flatten().map(move |id| LaneIndex { id, ..index })
    }

    /// Segments leaving node `node`, as end nodes.
    pub fn successors(&self, node: u16) -> impl Iterator<Item = u16> + '_ {
        self.segments.iter().filter(move |s| s.from == node).map(|s| s.to)
    }

    /// The lane closest to `p`, counting heading mismatch, among all lanes.
    pub fn closest_lane(&self, p: [f64; 2], heading: f64) -> LaneIndex {
        let mut best = (f64::INFINITY, LaneIndex { from: 0, to: 0, id: 0 });
        for (i, lane) in self.lanes.iter().enumerate() {
            let d = lane.distance_with_heading(p, heading);
            if d < best.0 {
                best = (d, self.lane_index[i]);
            }
        }
        best.1
    }

    /// The closest lane: `hint` itself while the point is well inside it (within a
    /// quarter width of its centre line, between its ends, heading within 0.2 rad);
    /// else the closest among the lanes near `hint` (its segment, the segments after
    /// it and the one before), and among all lanes only if none is close.
    pub fn closest_lane_near(&self, p: [f64; 2], heading: f64, hint: LaneIndex) -> LaneIndex {
        // A vehicle well inside its lane and aligned with it stays on it: no search.
        if let Some(l) = self.lane(hint) {
            let (s, lat) = l.local_coordinates(p);
            if lat.abs() < l.width / 4.0 && (0.0..l.length).contains(&s) && wrap_to_pi(heading - l.heading_at(s)).abs() < 0.2 {
                return hint;
            }
        }
        let mut best = (f64::INFINITY, hint);
        for seg in self.segments.iter().filter(|s| (s.from == hint.from && s.to == hint.to) || s.from == hint.to || s.to == hint.from) {
            for (id, &li) in seg.lanes.iter().enumerate() {
                let d = self.lanes[li].distance_with_heading(p, heading);
                if d < best.0 {
                    best = (d, LaneIndex { from: seg.from, to: seg.to, id: id as u16 });
                }
            }
        }
        if best.0 < 1.0 { best.1 } else { self.closest_lane(p, heading) }
    }

    /// Shortest path of nodes from `start` to `goal` (breadth-first, fewest segments).
    pub fn shortest_path(&self, start: u16, goal: u16) -> Vec<u16> {
        let mut prev = vec![u16::MAX; self.nodes.len()];
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen = vec![false; self.nodes.len()];
        if let Some(s) = seen.get_mut(start as usize) {
            *s = true;
        }
        while let Some(n) = queue.pop_front() {
            if n == goal {
                let mut path = vec![goal];
                let mut cur = goal;
                while cur != start {
                    cur = prev[cur as usize];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            for next in self.successors(n) {
                if !seen[next as usize] {
                    seen[next as usize] = true;
                    prev[next as usize] = n;
                    queue.push_back(next);
                }
            }
        }
        Vec::new()
    }

    /// The lane to continue on after `current`: along `route` when it says, else a
    /// successor segment chosen by `pick(number of choices)`; within that segment, the
    /// lane whose start is nearest to the end of `current`.
    pub fn next_lane(&self, current: LaneIndex, route: &[u16], pick: &mut dyn FnMut(usize) -> usize) -> LaneIndex {
        let to = current.to;
        let next_to = match route.iter().position(|&n| n == to).and_then(|i| route.get(i + 1)) {
            Some(&n) if self.segment(to, n).is_some() => Some(n),
            _ => {
                let choices: Vec<u16> = self.successors(to).collect();
                (!choices.is_empty()).then(|| choices[pick(choices.len()) % choices.len()])
            }
        };
        match next_to {
            Some(n) => {
                // The lane that continues this one: its start is nearest this lane's end
                // (the same id on uniform roads; the right lane after an on-ramp).
                let end = self.lane(current).map(|l| l.position(l.length(), 0.0));
                let count = self.lanes_in(to, n) as u16;
                let id = match end {
                    Some(e) => (0..count)
                        .min_by(|&a, &b| {
                            let d = |id: u16| {
                                self.lane(LaneIndex { from: to, to: n, id }).map_or(f64::INFINITY, |l| {
                                    let p = l.position(0.0, 0.0);
                                    (p[0] - e[0]).powi(2) + (p[1] - e[1]).powi(2)
                                })
                            };
                            d(a).total_cmp(&d(b))
                        })
                        .unwrap_or(0),
                    None => current.id.min(count.saturating_sub(1)),
                };
                LaneIndex { from: to, to: n, id }
            }
            None => current,
        }
    }

    /// A straight road of `lanes` lanes from x = 0 to x = `length`, lane 0 at y = 0.
    pub fn straight_road(lanes: usize, length: f64, speed_limit: f64) -> Self {
        let mut net = Self::new();
        for i in 0..lanes {
            let y = i as f64 * LANE_WIDTH;
            let left = if i == 0 { LineType::Continuous } else { LineType::Striped };
            let right = if i + 1 == lanes { LineType::Continuous } else { LineType::None };
            net.add_lane("0", "1", Lane::straight([0.0, y], [length, y], LANE_WIDTH, [left, right], speed_limit));
        }
        net
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_lane_coordinates_round_trip() {
        let lane = Lane::straight([0.0, 0.0], [100.0, 0.0], 4.0, [LineType::Striped; 2], 30.0);
        let p = lane.position(20.0, 1.5);
        assert_eq!(p, [20.0, 1.5]);
        assert_eq!(lane.local_coordinates(p), (20.0, 1.5));
        assert!(lane.on_lane(20.0, 1.5, 0.0) && !lane.on_lane(20.0, 2.5, 0.0));
        assert!(lane.after_end([98.0, 0.0]) && !lane.after_end([90.0, 0.0]));
    }

    #[test]
    fn circular_lane_coordinates_round_trip_and_heading_is_tangent() {
        let lane = Lane::circular([0.0, 0.0], 20.0, 0.0, PI / 2.0, true, 4.0, [LineType::Striped; 2], 15.0);
        assert!((lane.length() - 10.0 * PI).abs() < 1e-9);
        for s in [0.0, 5.0, 15.0, 30.0] {
            for lat in [-1.0, 0.0, 1.5] {
                let (s2, lat2) = lane.local_coordinates(lane.position(s, lat));
                assert!((s2 - s).abs() < 1e-9 && (lat2 - lat).abs() < 1e-9, "{s} {lat} -> {s2} {lat2}");
            }
        }
        // Moving a little along s moves along the heading.
        let (a, b) = (lane.position(10.0, 0.0), lane.position(10.01, 0.0));
        let h = lane.heading_at(10.005);
        let step = ((b[1] - a[1]).atan2(b[0] - a[0]) - h).abs();
        assert!(wrap_to_pi(step).abs() < 1e-3);
    }

    #[test]
    fn wrap_to_pi_matches_the_modulo_form() {
        for k in -2000..2000 {
            let a = k as f64 * 0.0137;
            let slow = (a + PI).rem_euclid(2.0 * PI) - PI;
            assert!((wrap_to_pi(a) - slow).abs() < 1e-12, "{a}");
        }
    }

    #[test]
    fn networks_route_and_find_lanes() {
        let mut net = RoadNetwork::straight_road(3, 100.0, 30.0);
        net.add_lane("1", "2", Lane::straight([100.0, 0.0], [200.0, 0.0], 4.0, [LineType::Striped; 2], 30.0));
        let (a, b, c) = (net.node_id("0").unwrap_or(0), net.node_id("1").unwrap_or(0), net.node_id("2").unwrap_or(0));
        assert_eq!(net.shortest_path(a, c), vec![a, b, c]);
        let li = net.closest_lane([50.0, 4.3], 0.0);
        assert_eq!(li, LaneIndex { from: a, to: b, id: 1 });
        assert_eq!(net.side_lanes(li).collect::<Vec<_>>().len(), 2);
        let next = net.next_lane(LaneIndex { from: a, to: b, id: 2 }, &[], &mut |_| 0);
        assert_eq!(next, LaneIndex { from: b, to: c, id: 0 }, "the lane that continues geometrically");
        assert_eq!(net.closest_lane_near([150.0, 0.2], 0.0, li), next);
    }
}

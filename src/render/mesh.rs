//! Unit triangle meshes for the primitives every visual model is built from.
//!
//! The same vertex and index lists feed bevy (as `Mesh` assets) and the label rasteriser
//! ([`super::raster`]), so masks, boxes and depth come from exactly the triangles the GPU
//! draws. Faces wind counter-clockwise seen from outside, as bevy expects.

/// The meshes objects are drawn with, each filling the unit box `[-0.5, 0.5]³` and
/// scaled to an object's extents. Class models are primitives merged into one mesh,
/// with darker parts shaded by vertex colour, so an object is one draw call (a warehouse
/// image has hundreds of shelves; on a software rasteriser draws cost more than pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MeshKind {
    /// A cube with corners at ±0.5.
    Cube,
    /// A cylinder around y of radius 0.5 and height 1.
    Cylinder,
    /// A cone around y: base radius 0.5 at `y = -0.5`, apex at `y = 0.5`.
    Cone,
    /// A shelf: four legs, two boards and a box of goods.
    Shelf,
    /// A robot: round body and a top plate.
    Robot,
    /// A vehicle: body and cabin (front towards +z).
    Vehicle,
    /// A person: body and head.
    Person,
    /// A traffic cone on a square foot.
    TrafficCone,
    /// A sign: post and plate.
    Sign,
}

impl MeshKind {
    /// Position of this kind in [`MeshKind::ALL`] and in [`unit_meshes`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Every mesh, in declaration order.
    pub const ALL: [MeshKind; 9] = [
        MeshKind::Cube,
        MeshKind::Cylinder,
        MeshKind::Cone,
        MeshKind::Shelf,
        MeshKind::Robot,
        MeshKind::Vehicle,
        MeshKind::Person,
        MeshKind::TrafficCone,
        MeshKind::Sign,
    ];
}

/// The unit mesh of every kind, indexed by [`MeshKind::index`]: the one table the
/// label rasteriser and the GPU renderer both draw from.
pub fn unit_meshes() -> Vec<TriMesh> {
    MeshKind::ALL.iter().map(|&k| TriMesh::unit(k)).collect()
}

/// A primitive placed in a model: offset and size within the unit box, and a shade
/// (vertex colour multiplying the object's colour).
struct Piece {
    mesh: MeshKind,
    offset: [f32; 3],
    size: [f32; 3],
    shade: f32,
}

const fn piece(mesh: MeshKind, offset: [f32; 3], size: [f32; 3], shade: f32) -> Piece {
    Piece { mesh, offset, size, shade }
}

/// The pieces of a model mesh (empty for primitives).
fn pieces(kind: MeshKind) -> &'static [Piece] {
    use MeshKind::{Cone, Cube, Cylinder};
    const SHELF: &[Piece] = &[
        piece(Cube, [-0.45, 0.0, -0.45], [0.1, 1.0, 0.1], 0.6),
        piece(Cube, [0.45, 0.0, -0.45], [0.1, 1.0, 0.1], 0.6),
        piece(Cube, [-0.45, 0.0, 0.45], [0.1, 1.0, 0.1], 0.6),
        piece(Cube, [0.45, 0.0, 0.45], [0.1, 1.0, 0.1], 0.6),
        piece(Cube, [0.0, -0.2, 0.0], [1.0, 0.05, 1.0], 1.0),
        piece(Cube, [0.0, 0.475, 0.0], [1.0, 0.05, 1.0], 1.0),
        piece(Cube, [0.0, 0.1, 0.05], [0.6, 0.3, 0.5], 0.4),
    ];
    const ROBOT: &[Piece] =
        &[piece(Cylinder, [0.0, -0.1, 0.0], [1.0, 0.8, 1.0], 1.0), piece(Cube, [0.0, 0.4, 0.0], [0.65, 0.2, 0.65], 0.3)];
    const VEHICLE: &[Piece] = &[piece(Cube, [0.0, -0.2, 0.0], [1.0, 0.6, 1.0], 1.0), piece(Cube, [0.0, 0.3, -0.08], [0.9, 0.4, 0.5], 0.45)];
    const PERSON: &[Piece] =
        &[piece(Cylinder, [0.0, -0.1, 0.0], [0.8, 0.8, 0.8], 1.0), piece(Cylinder, [0.0, 0.4, 0.0], [0.45, 0.2, 0.45], 0.8)];
    const TRAFFIC_CONE: &[Piece] =
        &[piece(Cone, [0.0, 0.025, 0.0], [0.85, 0.95, 0.85], 1.0), piece(Cube, [0.0, -0.475, 0.0], [1.0, 0.05, 1.0], 0.4)];
    const SIGN: &[Piece] =
        &[piece(Cylinder, [0.0, -0.15, 0.0], [0.08, 0.7, 0.08], 0.35), piece(Cube, [0.0, 0.3, 0.0], [1.0, 0.4, 1.0], 1.0)];
    match kind {
        MeshKind::Cube | MeshKind::Cylinder | MeshKind::Cone => &[],
        MeshKind::Shelf => SHELF,
        MeshKind::Robot => ROBOT,
        MeshKind::Vehicle => VEHICLE,
        MeshKind::Person => PERSON,
        MeshKind::TrafficCone => TRAFFIC_CONE,
        MeshKind::Sign => SIGN,
    }
}

/// Segments around round primitives.
const SEGMENTS: usize = 16;

/// An indexed triangle list.
#[derive(Clone, Debug, Default)]
pub struct TriMesh {
    /// Vertex positions.
    pub positions: Vec<[f32; 3]>,
    /// Vertex normals (unit length).
    pub normals: Vec<[f32; 3]>,
    /// Vertex shades in `[0, 1]` (multiplying the material's colour).
    pub shades: Vec<f32>,
    /// Three indices a triangle, counter-clockwise seen from outside.
    pub indices: Vec<u32>,
}

impl TriMesh {
    /// The unit mesh of `kind`.
    pub fn unit(kind: MeshKind) -> TriMesh {
        let mut mesh = match kind {
            MeshKind::Cube => cube(),
            MeshKind::Cylinder => frustum(0.5),
            MeshKind::Cone => frustum(0.0),
            _ => {
                let mut m = TriMesh::default();
                for p in pieces(kind) {
                    m.append(&TriMesh::unit(p.mesh), p.offset, p.size, p.shade);
                }
                return m;
            }
        };
        mesh.shades = vec![1.0; mesh.positions.len()];
        mesh
    }

    /// Appends `other` scaled by `size`, moved by `offset` and shaded by `shade`.
    fn append(&mut self, other: &TriMesh, offset: [f32; 3], size: [f32; 3], shade: f32) {
        let base = self.positions.len() as u32;
        self.positions.extend(other.positions.iter().map(|p| std::array::from_fn(|k| p[k] * size[k] + offset[k])));
        // Normals transform by the inverse scale, then renormalise.
        self.normals.extend(other.normals.iter().map(|n| {
            let m: [f32; 3] = std::array::from_fn(|k| n[k] / size[k]);
            let len = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt().max(1e-12);
            m.map(|v| v / len)
        }));
        self.shades.extend(std::iter::repeat_n(shade, other.positions.len()));
        self.indices.extend(other.indices.iter().map(|i| i + base));
    }

    /// Appends a quad `a b c d` (counter-clockwise) with a flat normal.
    fn quad(&mut self, corners: [[f32; 3]; 4], normal: [f32; 3]) {
        let base = self.positions.len() as u32;
        self.positions.extend(corners);
        self.normals.extend([normal; 4]);
        self.indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }

    /// Appends one triangle with per-vertex normals.
    fn triangle(&mut self, corners: [[f32; 3]; 3], normals: [[f32; 3]; 3]) {
        let base = self.positions.len() as u32;
        self.positions.extend(corners);
        self.normals.extend(normals);
        self.indices.extend([base, base + 1, base + 2]);
    }
}

fn cube() -> TriMesh {
    let mut m = TriMesh::default();
    let h = 0.5;
    // +x, -x, +y, -y, +z, -z faces.
    m.quad([[h, -h, h], [h, -h, -h], [h, h, -h], [h, h, h]], [1.0, 0.0, 0.0]);
    m.quad([[-h, -h, -h], [-h, -h, h], [-h, h, h], [-h, h, -h]], [-1.0, 0.0, 0.0]);
    m.quad([[-h, h, h], [h, h, h], [h, h, -h], [-h, h, -h]], [0.0, 1.0, 0.0]);
    m.quad([[-h, -h, -h], [h, -h, -h], [h, -h, h], [-h, -h, h]], [0.0, -1.0, 0.0]);
    m.quad([[-h, -h, h], [h, -h, h], [h, h, h], [-h, h, h]], [0.0, 0.0, 1.0]);
    m.quad([[h, -h, -h], [-h, -h, -h], [-h, h, -h], [h, h, -h]], [0.0, 0.0, -1.0]);
    m
}

/// A capped frustum around y from radius 0.5 at `y = -0.5` to `top` at `y = 0.5`.
fn frustum(top: f32) -> TriMesh {
    let mut m = TriMesh::default();
    let bottom = 0.5;
    let ring = |i: usize| {
        let a = std::f32::consts::TAU * i as f32 / SEGMENTS as f32;
        (a.cos(), a.sin())
    };
    // The side's normal leans up by the slope (bottom - top) over height 1.
    let slope = bottom - top;
    let side_normal = |c: f32, s: f32| {
        let n = [c, slope, s];
        let len = (c * c + slope * slope + s * s).sqrt();
        [n[0] / len, n[1] / len, n[2] / len]
    };
    for i in 0..SEGMENTS {
        let (c0, s0) = ring(i);
        let (c1, s1) = ring(i + 1);
        let b0 = [bottom * c0, -0.5, bottom * s0];
        let b1 = [bottom * c1, -0.5, bottom * s1];
        let t0 = [top * c0, 0.5, top * s0];
        let t1 = [top * c1, 0.5, top * s1];
        let (n0, n1) = (side_normal(c0, s0), side_normal(c1, s1));
        // Seen from outside, going around +y from angle 0 to 2π runs clockwise in (x, z)
        // when viewed from +y, so the side quads list b1 before b0.
        m.triangle([b0, t0, b1], [n0, n0, n1]);
        if top > 0.0 {
            m.triangle([b1, t0, t1], [n1, n0, n1]);
            m.triangle([[0.0, 0.5, 0.0], t1, t0], [[0.0, 1.0, 0.0]; 3]);
        }
        m.triangle([[0.0, -0.5, 0.0], b0, b1], [[0.0, -1.0, 0.0]; 3]);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
        [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
    }
    fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }
    fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
        a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    }

    #[test]
    fn triangles_wind_counter_clockwise_seen_from_outside() {
        for kind in [MeshKind::Cube, MeshKind::Cylinder, MeshKind::Cone] {
            let m = TriMesh::unit(kind);
            assert_eq!(m.indices.len() % 3, 0);
            assert_eq!(m.positions.len(), m.normals.len());
            for t in m.indices.chunks(3) {
                let [a, b, c] = [0, 1, 2].map(|k| m.positions[t[k] as usize]);
                let n = cross(sub(b, a), sub(c, a));
                let centroid = [(a[0] + b[0] + c[0]) / 3.0, (a[1] + b[1] + c[1]) / 3.0, (a[2] + b[2] + c[2]) / 3.0];
                // Every primitive is convex and contains the origin, so an outward face
                // normal points away from it.
                assert!(dot(n, centroid) > 0.0, "{kind:?}: inward triangle {a:?} {b:?} {c:?}");
            }
        }
    }

    #[test]
    fn the_table_is_indexed_by_kind() {
        let table = unit_meshes();
        for kind in MeshKind::ALL {
            assert_eq!(MeshKind::ALL[kind.index()], kind);
            assert_eq!(table[kind.index()].indices, TriMesh::unit(kind).indices);
        }
    }

    #[test]
    fn meshes_stay_in_the_unit_box_and_primitives_fill_it() {
        for kind in MeshKind::ALL {
            let m = TriMesh::unit(kind);
            assert_eq!((m.positions.len(), m.shades.len()), (m.normals.len(), m.normals.len()));
            assert!(m.indices.iter().all(|&i| (i as usize) < m.positions.len()));
            for axis in 0..3 {
                let lo = m.positions.iter().map(|p| p[axis]).fold(f32::MAX, f32::min);
                let hi = m.positions.iter().map(|p| p[axis]).fold(f32::MIN, f32::max);
                assert!(lo >= -0.5 - 1e-6 && hi <= 0.5 + 1e-6, "{kind:?} axis {axis}: {lo}..{hi}");
                if pieces(kind).is_empty() {
                    assert!((lo + 0.5).abs() < 1e-6 && (hi - 0.5).abs() < 1e-6, "{kind:?} axis {axis}: {lo}..{hi}");
                }
            }
            for n in &m.normals {
                assert!(((n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() - 1.0).abs() < 1e-5);
            }
        }
    }
}

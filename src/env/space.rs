//! Spaces describe what an environment accepts and returns, as in `gymnasium.spaces`;
//! an [`Action`] is the borrowed form of an action-space value, as `step` takes it.
//!
//! Every space has a flat `f32` layout of [`Space::flat_dim`] numbers, which is how
//! observations travel through [`Env`](super::Env) and the vector buffers:
//! `Discrete` is one number (the index, `start` included), `MultiDiscrete` one per
//! component, `Box` its elements in row-major order, and `Dict` its entries
//! concatenated in the order they were given.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::EnvError;

/// An action, borrowed so that stepping allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action<'a> {
    /// For `Discrete` action spaces.
    Discrete(i64),
    /// For `MultiDiscrete` action spaces, one entry per component.
    MultiDiscrete(&'a [i64]),
    /// For `Box` action spaces, row-major.
    Continuous(&'a [f32]),
}

impl fmt::Display for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Discrete(a) => write!(f, "{a}"),
            Action::MultiDiscrete(a) => write!(f, "{a:?}"),
            Action::Continuous(a) => write!(f, "{a:?}"),
        }
    }
}

/// A set of valid observations or actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Space {
    /// Integers `start, start + 1, …, start + n - 1`.
    Discrete {
        /// Number of elements (at least 1).
        n: u64,
        /// The smallest element.
        start: i64,
    },
    /// A vector of independent integers, component `i` in `0..nvec[i]`.
    MultiDiscrete {
        /// Number of values of each component (each at least 1).
        nvec: Vec<u64>,
    },
    /// A box in `R^n` with per-element bounds, possibly infinite.
    Box(BoxSpace),
    /// Named sub-spaces, flattened in the given order.
    Dict(Vec<(String, Space)>),
}

/// An element of a [`Space`], in structured (not flat) form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// An element of a `Discrete` space.
    Discrete(i64),
    /// An element of a `MultiDiscrete` space.
    MultiDiscrete(Vec<i64>),
    /// An element of a `Box` space, row-major.
    Box(Vec<f32>),
    /// An element of a `Dict` space, entries in the space's order.
    Dict(Vec<(String, Value)>),
}

impl Value {
    /// Borrows this value as an [`Action`]; `None` for `Dict` values.
    pub fn as_action(&self) -> Option<Action<'_>> {
        match self {
            Value::Discrete(a) => Some(Action::Discrete(*a)),
            Value::MultiDiscrete(a) => Some(Action::MultiDiscrete(a)),
            Value::Box(a) => Some(Action::Continuous(a)),
            Value::Dict(_) => None,
        }
    }
}

/// Bounds and shape of a [`Space::Box`]. Built through [`BoxSpace::new`], which validates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoxSpace {
    low: Vec<f32>,
    high: Vec<f32>,
    shape: Vec<usize>,
}

impl BoxSpace {
    /// A box with per-element bounds. `low` and `high` hold `shape.product()` elements,
    /// none NaN, with `low[i] <= high[i]`; infinite bounds are allowed.
    pub fn new(low: Vec<f32>, high: Vec<f32>, shape: Vec<usize>) -> Result<Self, EnvError> {
        let numel: usize = shape.iter().product();
        let invalid = |reason: String| EnvError::InvalidConfig { what: "Box space".into(), reason };
        if shape.is_empty() || numel == 0 {
            return Err(invalid(format!("shape {shape:?} has no elements")));
        }
        if low.len() != numel || high.len() != numel {
            return Err(invalid(format!("shape {shape:?} needs {numel} bounds, got {} low and {} high", low.len(), high.len())));
        }
        if let Some(i) = (0..numel).find(|&i| low[i].is_nan() || high[i].is_nan() || low[i] > high[i]) {
            return Err(invalid(format!("element {i} has low {} > high {} (or NaN)", low[i], high[i])));
        }
        Ok(Self { low, high, shape })
    }

    /// A box whose elements all share the bounds `low..=high`.
    pub fn uniform(low: f32, high: f32, shape: Vec<usize>) -> Result<Self, EnvError> {
        let numel: usize = shape.iter().product();
        Self::new(vec![low; numel], vec![high; numel], shape)
    }

    /// Lower bounds, row-major.
    pub fn low(&self) -> &[f32] {
        &self.low
    }

    /// Upper bounds, row-major.
    pub fn high(&self) -> &[f32] {
        &self.high
    }

    /// The shape, e.g. `[4]` or `[3, 64, 64]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.low.len()
    }

    /// Whether every element lies within its bounds (NaN never does).
    pub fn contains(&self, x: &[f32]) -> bool {
        x.len() == self.numel() && x.iter().zip(&self.low).zip(&self.high).all(|((v, lo), hi)| *v >= *lo && *v <= *hi)
    }

    /// Samples like Gymnasium's `Box.sample`: uniform where both bounds are finite,
    /// standard normal where both are infinite, and a shifted exponential where one is.
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f32]) {
        for ((o, &lo), &hi) in out.iter_mut().zip(&self.low).zip(&self.high) {
            let v = match (lo.is_finite(), hi.is_finite()) {
                (true, true) => lo as f64 + (hi as f64 - lo as f64) * rng.random::<f64>(),
                (false, false) => standard_normal(rng),
                (true, false) => lo as f64 + exponential(rng),
                (false, true) => hi as f64 - exponential(rng),
            };
            *o = (v as f32).clamp(lo, hi);
        }
    }
}

fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn exponential<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    -(1.0 - rng.random::<f64>()).ln()
}

impl Space {
    /// `Discrete(n)` with elements `0..n`.
    pub fn discrete(n: u64) -> Result<Self, EnvError> {
        Self::discrete_with_start(n, 0)
    }

    /// `Discrete(n, start)` with elements `start..start + n`.
    pub fn discrete_with_start(n: u64, start: i64) -> Result<Self, EnvError> {
        if n == 0 {
            return Err(EnvError::InvalidConfig { what: "Discrete space".into(), reason: "n must be at least 1".into() });
        }
        Ok(Space::Discrete { n, start })
    }

    /// `MultiDiscrete(nvec)`; every component needs at least one value.
    pub fn multi_discrete(nvec: Vec<u64>) -> Result<Self, EnvError> {
        if nvec.is_empty() || nvec.contains(&0) {
            return Err(EnvError::InvalidConfig {
                what: "MultiDiscrete space".into(),
                reason: format!("nvec {nvec:?} must be non-empty with every entry at least 1"),
            });
        }
        Ok(Space::MultiDiscrete { nvec })
    }

    /// A `Box` space; see [`BoxSpace::new`].
    pub fn boxed(low: Vec<f32>, high: Vec<f32>, shape: Vec<usize>) -> Result<Self, EnvError> {
        BoxSpace::new(low, high, shape).map(Space::Box)
    }

    /// A `Dict` space with unique, non-empty keys, flattened in the given order.
    pub fn dict(entries: Vec<(String, Space)>) -> Result<Self, EnvError> {
        let invalid = |reason: String| EnvError::InvalidConfig { what: "Dict space".into(), reason };
        if entries.is_empty() {
            return Err(invalid("needs at least one entry".into()));
        }
        for (i, (key, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(k, _)| k == key) {
                return Err(invalid(format!("key '{key}' appears twice")));
            }
        }
        Ok(Space::Dict(entries))
    }

    /// How many `f32`s an element of this space occupies in flat form.
    #[inline]
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Discrete { .. } => 1,
            Space::MultiDiscrete { nvec } => nvec.len(),
            Space::Box(b) => b.numel(),
            Space::Dict(entries) => dict_flat_dim(entries),
        }
    }

    /// The sub-space under `key` of a `Dict` space, with its offset in the flat layout.
    pub fn dict_entry(&self, key: &str) -> Option<(usize, &Space)> {
        let Space::Dict(entries) = self else { return None };
        let mut offset = 0;
        for (k, s) in entries {
            if k == key {
                return Some((offset, s));
            }
            offset += s.flat_dim();
        }
        None
    }

    /// A random element, drawn from `rng` (Gymnasium's `Space.sample`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Space::Discrete { n, start } => Value::Discrete(start + rng.random_range(0..*n) as i64),
            Space::MultiDiscrete { nvec } => Value::MultiDiscrete(nvec.iter().map(|&n| rng.random_range(0..n) as i64).collect()),
            Space::Box(b) => {
                let mut out = vec![0.0; b.numel()];
                b.sample_into(rng, &mut out);
                Value::Box(out)
            }
            Space::Dict(entries) => Value::Dict(entries.iter().map(|(k, s)| (k.clone(), s.sample(rng))).collect()),
        }
    }

    /// Whether `value` is an element of this space.
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Space::Discrete { n, start }, Value::Discrete(v)) => discrete_contains(*n, *start, *v),
            (Space::MultiDiscrete { nvec }, Value::MultiDiscrete(v)) => {
                v.len() == nvec.len() && v.iter().zip(nvec).all(|(&x, &n)| discrete_contains(n, 0, x))
            }
            (Space::Box(b), Value::Box(v)) => b.contains(v),
            (Space::Dict(entries), Value::Dict(values)) => {
                entries.len() == values.len() && entries.iter().zip(values).all(|((k, s), (vk, v))| k == vk && s.contains(v))
            }
            _ => false,
        }
    }

    /// Whether `action` is an element of this space (a `Dict` space has no actions).
    #[inline]
    pub fn contains_action(&self, action: Action<'_>) -> bool {
        match (self, action) {
            (Space::Discrete { n, start }, Action::Discrete(v)) => discrete_contains(*n, *start, v),
            (Space::MultiDiscrete { nvec }, Action::MultiDiscrete(v)) => {
                v.len() == nvec.len() && v.iter().zip(nvec).all(|(&x, &n)| discrete_contains(n, 0, x))
            }
            (Space::Box(b), Action::Continuous(v)) => b.contains(v),
            _ => false,
        }
    }

    /// Whether the flat buffer `x` encodes an element of this space.
    pub fn contains_flat(&self, x: &[f32]) -> bool {
        if x.len() != self.flat_dim() {
            return false;
        }
        match self {
            Space::Discrete { n, start } => flat_int(x[0]).is_some_and(|v| discrete_contains(*n, *start, v)),
            Space::MultiDiscrete { nvec } => x.iter().zip(nvec).all(|(&v, &n)| flat_int(v).is_some_and(|v| discrete_contains(n, 0, v))),
            Space::Box(b) => b.contains(x),
            Space::Dict(entries) => {
                let mut offset = 0;
                entries.iter().all(|(_, s)| {
                    let d = s.flat_dim();
                    let ok = s.contains_flat(&x[offset..offset + d]);
                    offset += d;
                    ok
                })
            }
        }
    }

    /// Writes `value` in flat form into `out`, which must hold [`Space::flat_dim`] numbers.
    pub fn flatten(&self, value: &Value, out: &mut [f32]) -> Result<(), EnvError> {
        if out.len() != self.flat_dim() {
            return Err(EnvError::BufferSize { what: "flat", got: out.len(), expected: self.flat_dim() });
        }
        if !self.contains(value) {
            return Err(EnvError::InvalidAction { action: format!("{value:?}"), space: self.to_string() });
        }
        match (self, value) {
            (Space::Discrete { .. }, Value::Discrete(v)) => out[0] = *v as f32,
            (Space::MultiDiscrete { .. }, Value::MultiDiscrete(v)) => out.iter_mut().zip(v).for_each(|(o, &x)| *o = x as f32),
            (Space::Box(_), Value::Box(v)) => out.copy_from_slice(v),
            (Space::Dict(entries), Value::Dict(values)) => {
                let mut offset = 0;
                for ((_, s), (_, v)) in entries.iter().zip(values) {
                    let d = s.flat_dim();
                    s.flatten(v, &mut out[offset..offset + d])?;
                    offset += d;
                }
            }
            _ => unreachable!("invariant: contains() checked that value matches the space"),
        }
        Ok(())
    }

    /// Reads a structured value back from its flat form; errors if `x` is not in the space.
    pub fn unflatten(&self, x: &[f32]) -> Result<Value, EnvError> {
        if !self.contains_flat(x) {
            return Err(EnvError::InvalidConfig { what: "flat value".into(), reason: format!("{x:?} is not an element of {self}") });
        }
        Ok(match self {
            Space::Discrete { .. } => Value::Discrete(x[0] as i64),
            Space::MultiDiscrete { .. } => Value::MultiDiscrete(x.iter().map(|&v| v as i64).collect()),
            Space::Box(_) => Value::Box(x.to_vec()),
            Space::Dict(entries) => {
                let mut offset = 0;
                let mut values = Vec::with_capacity(entries.len());
                for (k, s) in entries {
                    let d = s.flat_dim();
                    values.push((k.clone(), s.unflatten(&x[offset..offset + d])?));
                    offset += d;
                }
                Value::Dict(values)
            }
        })
    }
}

fn discrete_contains(n: u64, start: i64, v: i64) -> bool {
    v >= start && ((v - start) as u64) < n
}

/// The integer a flat `f32` encodes, if it encodes one exactly.
fn flat_int(v: f32) -> Option<i64> {
    (v.is_finite() && v.fract() == 0.0).then_some(v as i64)
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Space::Discrete { n, start: 0 } => write!(f, "Discrete({n})"),
            Space::Discrete { n, start } => write!(f, "Discrete({n}, start={start})"),
            Space::MultiDiscrete { nvec } => write!(f, "MultiDiscrete({nvec:?})"),
            Space::Box(b) => {
                let shape = match b.shape.as_slice() {
                    [d] => format!("({d},)"),
                    s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
                };
                let uniform = |v: &[f32]| v.iter().all(|&x| x == v[0]);
                if uniform(&b.low) && uniform(&b.high) {
                    write!(f, "Box({}, {}, {shape})", b.low[0], b.high[0])
                } else if b.numel() <= 8 {
                    write!(f, "Box({:?}, {:?}, {shape})", b.low, b.high)
                } else {
                    write!(f, "Box(per-element bounds, {shape})")
                }
            }
            Space::Dict(entries) => {
                write!(f, "Dict(")?;
                for (i, (k, s)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {s}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// [`Space::flat_dim`] of a `Dict`, out of line so that the common cases inline.
#[inline(never)]
fn dict_flat_dim(entries: &[(String, Space)]) -> usize {
    entries.iter().map(|(_, s)| s.flat_dim()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::seed::rng_from_seed;

    fn nested() -> Result<Space, EnvError> {
        Space::dict(vec![
            ("pose".into(), Space::boxed(vec![-1.0, -2.0], vec![1.0, 2.0], vec![2])?),
            ("carrying".into(), Space::discrete(2)?),
            ("target".into(), Space::multi_discrete(vec![3, 4])?),
            ("lidar".into(), Space::Box(BoxSpace::uniform(0.0, f32::INFINITY, vec![2, 3])?)),
        ])
    }

    #[test]
    fn samples_are_contained_and_round_trip_through_flat_form() -> Result<(), EnvError> {
        let space = nested()?;
        assert_eq!(space.flat_dim(), 2 + 1 + 2 + 6);
        let mut rng = rng_from_seed(3);
        let mut flat = vec![0.0; space.flat_dim()];
        for _ in 0..200 {
            let v = space.sample(&mut rng);
            assert!(space.contains(&v), "{v:?}");
            space.flatten(&v, &mut flat)?;
            assert!(space.contains_flat(&flat));
            assert_eq!(space.unflatten(&flat)?, v);
        }
        Ok(())
    }

    #[test]
    fn discrete_respects_start_and_rejects_out_of_range() -> Result<(), EnvError> {
        let s = Space::discrete_with_start(3, -1)?;
        assert!(s.contains(&Value::Discrete(-1)) && s.contains(&Value::Discrete(1)));
        assert!(!s.contains(&Value::Discrete(2)) && !s.contains(&Value::Discrete(-2)));
        assert!(!s.contains_flat(&[0.5]), "fractional values are not integers");
        assert!(!s.contains(&Value::Box(vec![0.0])), "wrong kind of value");
        let mut rng = rng_from_seed(0);
        let mut seen = [false; 3];
        for _ in 0..100 {
            let Value::Discrete(v) = s.sample(&mut rng) else { panic!("wrong kind") };
            seen[(v + 1) as usize] = true;
        }
        assert_eq!(seen, [true; 3], "every element gets sampled");
        Ok(())
    }

    #[test]
    fn box_sampling_follows_bound_kinds() -> Result<(), EnvError> {
        let b =
            BoxSpace::new(vec![-1.0, f32::NEG_INFINITY, 5.0, f32::NEG_INFINITY], vec![1.0, f32::INFINITY, f32::INFINITY, -5.0], vec![4])?;
        let mut rng = rng_from_seed(11);
        let mut x = [0.0; 4];
        let (mut sum_normal, mut sum_sq) = (0.0f64, 0.0f64);
        let n = 20_000;
        for _ in 0..n {
            b.sample_into(&mut rng, &mut x);
            assert!(b.contains(&x));
            assert!(x[2] >= 5.0 && x[3] <= -5.0);
            sum_normal += x[1] as f64;
            sum_sq += (x[1] as f64).powi(2);
        }
        let mean = sum_normal / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.05, "unbounded elements are N(0, 1): {mean} {var}");
        Ok(())
    }

    #[test]
    fn invalid_spaces_are_rejected_with_reasons() {
        assert!(Space::discrete(0).is_err());
        assert!(Space::multi_discrete(vec![]).is_err());
        assert!(Space::multi_discrete(vec![2, 0]).is_err());
        assert!(Space::boxed(vec![1.0], vec![0.0], vec![1]).is_err());
        assert!(Space::boxed(vec![f32::NAN], vec![0.0], vec![1]).is_err());
        assert!(Space::boxed(vec![0.0; 3], vec![1.0; 3], vec![2]).is_err());
        let dup = Space::dict(vec![("a".into(), Space::Discrete { n: 2, start: 0 }), ("a".into(), Space::Discrete { n: 2, start: 0 })]);
        let Err(err) = dup else { panic!("duplicate keys accepted") };
        assert!(err.to_string().contains("'a' appears twice"), "{err}");
    }

    #[test]
    fn nan_is_never_contained() -> Result<(), EnvError> {
        let b = Space::boxed(vec![f32::NEG_INFINITY], vec![f32::INFINITY], vec![1])?;
        assert!(!b.contains_flat(&[f32::NAN]));
        assert!(b.contains_flat(&[f32::INFINITY]));
        Ok(())
    }

    #[test]
    fn dict_entry_gives_offsets() -> Result<(), EnvError> {
        let s = nested()?;
        assert_eq!(s.dict_entry("pose").map(|(o, _)| o), Some(0));
        assert_eq!(s.dict_entry("target").map(|(o, _)| o), Some(3));
        assert_eq!(s.dict_entry("lidar").map(|(o, s)| (o, s.flat_dim())), Some((5, 6)));
        assert!(s.dict_entry("missing").is_none());
        Ok(())
    }

    #[test]
    fn display_is_compact() -> Result<(), EnvError> {
        assert_eq!(Space::discrete(5)?.to_string(), "Discrete(5)");
        assert_eq!(Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![3, 2])?).to_string(), "Box(-1, 1, (3, 2))");
        assert_eq!(Space::boxed(vec![-1.0, 0.0], vec![1.0, f32::INFINITY], vec![2])?.to_string(), "Box([-1.0, 0.0], [1.0, inf], (2,))");
        Ok(())
    }
}

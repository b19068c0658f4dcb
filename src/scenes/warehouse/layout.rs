//! Warehouse floor plans: which cells are corridors ("highways"), which hold shelves,
//! and where the goal (delivery) stations are, after rware's two ways of making them.

use rand::Rng;

use crate::env::EnvError;

/// A rectangular warehouse floor plan. Cell `(x, y)` is column `x`, row `y`, row 0 at the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Per cell (row-major): a corridor, where shelves cannot be put down.
    pub highways: Vec<bool>,
    /// Goal cells `(x, y)`, in the order deliveries are checked.
    pub goals: Vec<(usize, usize)>,
}

/// The largest floor plan accepted, in cells.
pub const MAX_CELLS: usize = 100_000;

/// The named sizes of rware: `(shelf_rows, shelf_columns)` with columns 8 high.
pub const PRESETS: [(&str, usize, usize); 4] = [("tiny", 1, 3), ("small", 2, 3), ("medium", 2, 5), ("large", 3, 5)];

impl Layout {
    /// rware's parametric layout: `shelf_columns` (odd) blocks of two shelf columns,
    /// `shelf_rows` blocks of `column_height` shelves, corridors between, two goals
    /// in the middle of the bottom row and a queue lane above them.
    /// The grid is `(column_height + 1) * shelf_rows + 2` rows by `3 * shelf_columns + 1` columns.
    pub fn from_params(shelf_columns: usize, column_height: usize, shelf_rows: usize) -> Result<Self, EnvError> {
        let invalid = |reason: String| EnvError::InvalidConfig { what: "warehouse layout".into(), reason };
        if shelf_columns % 2 != 1 {
            return Err(invalid(format!("shelf_columns must be odd, got {shelf_columns}")));
        }
        if column_height == 0 || shelf_rows == 0 {
            return Err(invalid("column_height and shelf_rows must be at least 1".into()));
        }
        let height = column_height.checked_add(1).and_then(|h| h.checked_mul(shelf_rows)).and_then(|h| h.checked_add(2));
        let width = shelf_columns.checked_mul(3).and_then(|w| w.checked_add(1));
        let (Some(height), Some(width)) = (height, width) else {
            return Err(invalid("dimensions overflow".into()));
        };
        if width.saturating_mul(height) > MAX_CELLS {
            return Err(invalid(format!("{width}x{height} is larger than {MAX_CELLS} cells")));
        }
        let mut highways = vec![false; width * height];
        for y in 0..height {
            for x in 0..width {
                let vertical = x % 3 == 0;
                let horizontal = y % (column_height + 1) == 0;
                let delivery_row = y == height - 1;
                let queue = (y + column_height + 3 > height) && (x == width / 2 - 1 || x == width / 2);
                highways[y * width + x] = vertical || horizontal || delivery_row || queue;
            }
        }
        let goals = vec![(width / 2 - 1, height - 1), (width / 2, height - 1)];
        Ok(Self { width, height, highways, goals })
    }

    /// A named rware size: `tiny` (10x11), `small` (10x20), `medium` (16x20), `large` (16x29).
    pub fn preset(name: &str) -> Result<Self, EnvError> {
        let (_, rows, cols) = PRESETS.iter().find(|(n, _, _)| *n == name).ok_or_else(|| EnvError::InvalidConfig {
            what: "warehouse layout".into(),
            reason: format!("unknown size '{name}'; expected one of tiny, small, medium, large"),
        })?;
        Self::from_params(*cols, 8, *rows)
    }

    /// An ASCII layout as in rware: `x` a shelf, `.` a corridor, `g` a goal (a
    /// corridor too); spaces are ignored and rows must have equal length.
    /// Errors name the line and column of the problem.
    pub fn from_ascii(text: &str) -> Result<Self, EnvError> {
        let lines: Vec<String> = text.trim().lines().map(|l| l.chars().filter(|c| !c.is_whitespace()).collect::<String>()).collect();
        let invalid = |reason: String| EnvError::InvalidConfig { what: "ASCII layout".into(), reason };
        let width = lines.first().map_or(0, |l| l.chars().count());
        if width == 0 {
            return Err(invalid("is empty".into()));
        }
        if width.saturating_mul(lines.len()) > MAX_CELLS {
            return Err(invalid(format!("is larger than {MAX_CELLS} cells")));
        }
        let mut highways = Vec::with_capacity(width * lines.len());
        let mut goals = Vec::new();
        for (y, line) in lines.iter().enumerate() {
            if line.chars().count() != width {
                return Err(invalid(format!("line {} has {} cells, line 1 has {width}; rows must be equal", y + 1, line.chars().count())));
            }
            for (x, ch) in line.chars().enumerate() {
                match ch.to_ascii_lowercase() {
                    'x' => highways.push(false),
                    '.' => highways.push(true),
                    'g' => {
                        highways.push(true);
                        goals.push((x, y));
                    }
                    other => {
                        return Err(invalid(format!("line {}, column {}: '{other}' is not one of x . g", y + 1, x + 1)));
                    }
                }
            }
        }
        if goals.is_empty() {
            return Err(invalid("needs at least one goal 'g'".into()));
        }
        Ok(Self { width, height: lines.len(), highways, goals })
    }

    /// A random parametric layout: shelf columns (odd), rows and column height drawn
    /// uniformly from the inclusive ranges, for domain randomisation.
    pub fn procedural<R: Rng + ?Sized>(
        rng: &mut R,
        shelf_columns: (usize, usize),
        column_height: (usize, usize),
        shelf_rows: (usize, usize),
    ) -> Result<Self, EnvError> {
        let pick = |rng: &mut R, (lo, hi): (usize, usize), what: &str| -> Result<usize, EnvError> {
            if lo == 0 || lo > hi {
                return Err(EnvError::InvalidConfig {
                    what: format!("procedural {what}"),
                    reason: format!("range [{lo}, {hi}] must be non-empty and start at 1 or more"),
                });
            }
            Ok(rng.random_range(lo..=hi))
        };
        let odd: Vec<usize> = (shelf_columns.0..=shelf_columns.1).filter(|c| c % 2 == 1).collect();
        if odd.is_empty() {
            return Err(EnvError::InvalidConfig {
                what: "procedural shelf_columns".into(),
                reason: format!("range [{}, {}] contains no odd number", shelf_columns.0, shelf_columns.1),
            });
        }
        let cols = odd[rng.random_range(0..odd.len())];
        let height = pick(rng, column_height, "column_height")?;
        let rows = pick(rng, shelf_rows, "shelf_rows")?;
        Self::from_params(cols, height, rows)
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.width * self.height
    }

    /// The index of cell `(x, y)` in row-major order.
    #[inline]
    pub fn cell(&self, x: usize, y: usize) -> usize {
        y * self.width + x
    }

    /// Whether `(x, y)` is a corridor.
    pub fn is_highway(&self, x: usize, y: usize) -> bool {
        self.highways[self.cell(x, y)]
    }

    /// Number of shelves (one on every non-corridor cell at reset).
    pub fn num_shelves(&self) -> usize {
        self.highways.iter().filter(|h| !**h).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_rwares_sizes() -> Result<(), EnvError> {
        for (name, w, h) in [("tiny", 10, 11), ("small", 10, 20), ("medium", 16, 20), ("large", 16, 29)] {
            let l = Layout::preset(name)?;
            assert_eq!((l.width, l.height), (w, h), "{name}");
        }
        assert!(Layout::preset("huge").is_err());
        Ok(())
    }

    #[test]
    fn tiny_matches_rwares_picture() -> Result<(), EnvError> {
        // rware-tiny's grid as rware 2.0 builds it (printed from `Warehouse.highways`):
        // the queue lane in front of the goals reaches the top on this small map.
        let expected = "\
..........
.xx....xx.
.xx....xx.
.xx....xx.
.xx....xx.
.xx....xx.
.xx....xx.
.xx....xx.
.xx....xx.
..........
....gg....";
        let l = Layout::preset("tiny")?;
        let drawn: Vec<String> = (0..l.height)
            .map(|y| {
                (0..l.width)
                    .map(|x| {
                        if l.goals.contains(&(x, y)) {
                            'g'
                        } else if l.is_highway(x, y) {
                            '.'
                        } else {
                            'x'
                        }
                    })
                    .collect()
            })
            .collect();
        assert_eq!(drawn.join("\n"), expected);
        assert_eq!(Layout::from_ascii(expected)?, l);
        Ok(())
    }

    #[test]
    fn ascii_errors_name_line_and_column() {
        let Err(e) = Layout::from_ascii("x.x\n.q.\ng..") else { panic!("bad char accepted") };
        assert!(e.to_string().contains("line 2, column 2: 'q'"), "{e}");
        let Err(e) = Layout::from_ascii("x.x\n..\ng..") else { panic!("ragged rows accepted") };
        assert!(e.to_string().contains("line 2 has 2 cells"), "{e}");
        assert!(Layout::from_ascii("x.x\n...").is_err(), "no goal");
    }

    #[test]
    fn procedural_layouts_follow_the_seed_and_ranges() -> Result<(), EnvError> {
        use crate::util::seed::rng_from_seed;
        let a = Layout::procedural(&mut rng_from_seed(1), (1, 5), (2, 8), (1, 3))?;
        let b = Layout::procedural(&mut rng_from_seed(1), (1, 5), (2, 8), (1, 3))?;
        assert_eq!(a, b);
        let sizes: std::collections::HashSet<_> = (0..20)
            .map(|s| Layout::procedural(&mut rng_from_seed(s), (1, 5), (2, 8), (1, 3)).map(|l| (l.width, l.height)))
            .collect::<Result<_, _>>()?;
        assert!(sizes.len() > 3, "sizes vary with the seed: {sizes:?}");
        assert!(Layout::procedural(&mut rng_from_seed(0), (2, 2), (2, 8), (1, 3)).is_err());
        Ok(())
    }
}

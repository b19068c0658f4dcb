//! Scene generation: a VAE over warehouse floor plans (cells of corridor, shelf or goal),
//! trained on layouts the scenes module draws, whose samples are checked for validity
//! before they become scene files.
//!
//! A floor plan of at most 16 × 16 cells is a 16 × 16 "image" with one channel per kind
//! (shelf, goal, corridor; all zero outside the plan), so the image VAE of [`super::model`]
//! learns it as it learns pictures (one class). A sample is read back by
//! [`from_probabilities`].
//!
//! Validity (see [`check`]): the plan is a filled rectangle of at least 3 × 3 cells; each
//! cell holds exactly one thing; there is a goal and there are two shelves or more; every corridor and goal
//! cell is connected to a goal through corridors (so robots spawn where they can work);
//! and every shelf touches such a corridor (so it can be carried out to a goal).

use std::collections::VecDeque;

use super::model::GenNet;
use super::{GenError, Result};
use crate::data::{ImageSet, ImageSpec};

/// The side of the square the plans are drawn on.
pub const SIDE: usize = 16;

/// What a cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// A corridor (where loaded robots drive).
    Corridor,
    /// A shelf's place.
    Shelf,
    /// A goal (delivery station).
    Goal,
}

impl Cell {
    fn ascii(self) -> char {
        match self {
            Cell::Corridor => '.',
            Cell::Shelf => 'x',
            Cell::Goal => 'g',
        }
    }
}

/// A rectangular floor plan, row-major, row 0 at the top.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FloorPlan {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The cells.
    pub cells: Vec<Cell>,
}

impl FloorPlan {
    /// rware's ASCII syntax (`x` shelf, `.` corridor, `g` goal), one line per row.
    pub fn to_ascii(&self) -> String {
        self.cells.chunks(self.width).map(|row| row.iter().map(|c| c.ascii()).collect::<String>() + "\n").collect()
    }

    /// Reads rware's ASCII syntax (whitespace inside lines ignored).
    pub fn from_ascii(text: &str) -> Result<FloorPlan> {
        let rows: Vec<Vec<Cell>> = text
            .lines()
            .map(|l| l.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.chars()
                    .map(|c| match c {
                        '.' => Ok(Cell::Corridor),
                        'x' | 'X' => Ok(Cell::Shelf),
                        'g' | 'G' => Ok(Cell::Goal),
                        other => Err(GenError::config("layout", format!("'{other}' is not one of x . g"))),
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 || rows.iter().any(|r| r.len() != width) {
            return Err(GenError::config("layout", "rows must be non-empty and of equal length"));
        }
        Ok(FloorPlan { width, height: rows.len(), cells: rows.concat() })
    }

    fn at(&self, x: usize, y: usize) -> Cell {
        self.cells[y * self.width + x]
    }

    fn neighbours(&self, x: usize, y: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (w, h) = (self.width as isize, self.height as isize);
        [(-1isize, 0isize), (1, 0), (0, -1), (0, 1)].into_iter().filter_map(move |(dx, dy)| {
            let (nx, ny) = (x as isize + dx, y as isize + dy);
            (nx >= 0 && ny >= 0 && nx < w && ny < h).then_some((nx as usize, ny as usize))
        })
    }
}

/// Why a plan is not a usable warehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// The cells inside the plan do not fill a rectangle of at least 3 × 3.
    NotRectangular,
    /// No goal.
    NoGoal,
    /// Fewer than two shelves (a warehouse requests shelves while others wait).
    FewShelves,
    /// This many corridor or goal cells cannot reach a goal.
    UnreachableCorridors(usize),
    /// This many shelves touch no corridor connected to a goal.
    TrappedShelves(usize),
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::NotRectangular => write!(f, "not a filled rectangle of at least 3x3 cells"),
            Invalid::NoGoal => write!(f, "no goal"),
            Invalid::FewShelves => write!(f, "fewer than two shelves"),
            Invalid::UnreachableCorridors(n) => write!(f, "{n} corridor cell(s) cut off from every goal"),
            Invalid::TrappedShelves(n) => write!(f, "{n} shelf/shelves with no corridor to a goal beside them"),
        }
    }
}

/// Checks that `plan` is a usable warehouse (see the module documentation).
pub fn check(plan: &FloorPlan) -> std::result::Result<(), Invalid> {
    if plan.width < 3 || plan.height < 3 || plan.cells.len() != plan.width * plan.height {
        return Err(Invalid::NotRectangular);
    }
    let goals: Vec<(usize, usize)> =
        (0..plan.height).flat_map(|y| (0..plan.width).map(move |x| (x, y))).filter(|&(x, y)| plan.at(x, y) == Cell::Goal).collect();
    if goals.is_empty() {
        return Err(Invalid::NoGoal);
    }
    if plan.cells.iter().filter(|c| **c == Cell::Shelf).count() < 2 {
        return Err(Invalid::FewShelves);
    }
    // Breadth-first from every goal over corridor and goal cells.
    let mut reached = vec![false; plan.cells.len()];
    let mut queue: VecDeque<(usize, usize)> = goals.iter().copied().collect();
    goals.iter().for_each(|&(x, y)| reached[y * plan.width + x] = true);
    while let Some((x, y)) = queue.pop_front() {
        for (nx, ny) in plan.neighbours(x, y) {
            let i = ny * plan.width + nx;
            if !reached[i] && plan.at(nx, ny) != Cell::Shelf {
                reached[i] = true;
                queue.push_back((nx, ny));
            }
        }
    }
    let cut_off = plan.cells.iter().zip(&reached).filter(|(c, r)| **c != Cell::Shelf && !**r).count();
    if cut_off > 0 {
        return Err(Invalid::UnreachableCorridors(cut_off));
    }
    let trapped = (0..plan.height)
        .flat_map(|y| (0..plan.width).map(move |x| (x, y)))
        .filter(|&(x, y)| plan.at(x, y) == Cell::Shelf && !plan.neighbours(x, y).any(|(nx, ny)| reached[ny * plan.width + nx]))
        .count();
    if trapped > 0 {
        return Err(Invalid::TrappedShelves(trapped));
    }
    Ok(())
}

/// The image of a plan: `SIDE × SIDE × 3` bytes, channels (shelf, goal, corridor) at 255
/// for the cell's kind, 0 elsewhere and outside the plan (top-left aligned).
pub fn to_pixels(plan: &FloorPlan) -> Result<Vec<u8>> {
    if plan.width > SIDE || plan.height > SIDE {
        return Err(GenError::config("layout", format!("{}x{} is larger than {SIDE}x{SIDE} cells", plan.width, plan.height)));
    }
    let mut px = vec![0u8; SIDE * SIDE * 3];
    for y in 0..plan.height {
        for x in 0..plan.width {
            let channel = match plan.at(x, y) {
                Cell::Shelf => 0,
                Cell::Goal => 1,
                Cell::Corridor => 2,
            };
            px[(y * SIDE + x) * 3 + channel] = 255;
        }
    }
    Ok(px)
}

/// The plans as a one-class image set for the VAE.
pub fn image_set(plans: &[FloorPlan]) -> Result<ImageSet> {
    let spec = ImageSpec { channels: 3, height: SIDE, width: SIDE };
    let pixels = plans.iter().map(to_pixels).collect::<Result<Vec<_>>>()?.concat();
    Ok(ImageSet::from_parts(spec, vec!["layout".into()], pixels, vec![0; plans.len()])?)
}

/// Goal probability from which a cell is read as a goal: goals are 1 to 3 cells of a
/// plan, so the decoder rarely gives them the majority a common kind gets.
pub const GOAL_THRESHOLD: f32 = 0.3;

/// Reads a plan back from channel probabilities (`SIDE × SIDE × 3`, in [0, 1]).
///
/// Plans are drawn from the top-left corner, and their first row and column are corridors
/// in every training plan, so the extent is read there: the width is the run of cells of
/// the first row, the height the run down the first column, whose three probabilities
/// sum to one half or more. Inside, a cell is a goal when its goal probability reaches
/// [`GOAL_THRESHOLD`], else the likelier of shelf and corridor. When no cell reaches the
/// threshold, the one cell with the highest goal probability is made a goal (a repair:
/// the `bool` says it was needed, so that validity can be reported with and without
/// it). `None` when the plan would be under 3 × 3 cells.
pub fn from_probabilities(p: &[f32]) -> Option<(FloorPlan, bool)> {
    let inside = |x: usize, y: usize| p[(y * SIDE + x) * 3..(y * SIDE + x) * 3 + 3].iter().sum::<f32>() >= 0.5;
    let width = (0..SIDE).take_while(|&x| inside(x, 0)).count();
    let height = (0..SIDE).take_while(|&y| inside(0, y)).count();
    if width < 3 || height < 3 {
        return None;
    }
    let at = |x: usize, y: usize| &p[(y * SIDE + x) * 3..(y * SIDE + x) * 3 + 3];
    let mut cells = Vec::with_capacity(width * height);
    let mut likeliest_goal = (0, f32::MIN);
    for y in 0..height {
        for x in 0..width {
            let c = at(x, y);
            if c[1] > likeliest_goal.1 {
                likeliest_goal = (cells.len(), c[1]);
            }
            cells.push(if c[1] >= GOAL_THRESHOLD {
                Cell::Goal
            } else if c[0] > c[2] {
                Cell::Shelf
            } else {
                Cell::Corridor
            });
        }
    }
    let repaired = !cells.contains(&Cell::Goal);
    if repaired {
        cells[likeliest_goal.0] = Cell::Goal;
    }
    Some((FloorPlan { width, height, cells }, repaired))
}

/// One sampled plan and its verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// The plan (`None` when the sample is not even a rectangle).
    pub plan: Option<FloorPlan>,
    /// `Ok` if usable, else why not.
    pub verdict: std::result::Result<(), Invalid>,
    /// The decoder put no goal above [`GOAL_THRESHOLD`], so its likeliest goal cell was
    /// made one (without that repair the sample would have been invalid: no goal).
    pub goal_repaired: bool,
}

/// `count` plans sampled from a layout VAE (or GAN) `net`, each checked. Latent codes are
/// drawn from the prior scaled by `temperature` (1 is the prior; lower trades variety
/// for crisper plans).
pub fn sample_plans(net: &GenNet, count: usize, temperature: f64, seed: u64) -> Result<Vec<Sampled>> {
    if net.spec != (ImageSpec { channels: 3, height: SIDE, width: SIDE }) || net.classes != 1 {
        return Err(GenError::config("model", "not a layout model (one class of 16x16 three-channel plans)"));
    }
    Ok(net
        .sample_prior(count, temperature, seed)?
        .chunks_exact(SIDE * SIDE * 3)
        .map(|p| {
            let (plan, goal_repaired) = from_probabilities(p).map_or((None, false), |(plan, r)| (Some(plan), r));
            let verdict = plan.as_ref().map_or(Err(Invalid::NotRectangular), check);
            Sampled { plan, verdict, goal_repaired }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "x.xx.x\nx.xx.x\n......\n..gg..\n";

    #[test]
    fn a_well_formed_plan_is_valid_and_round_trips() {
        let plan = FloorPlan::from_ascii(TINY).expect("plan");
        assert_eq!((plan.width, plan.height), (6, 4));
        assert_eq!(check(&plan), Ok(()));
        assert_eq!(plan.to_ascii(), TINY);
        let px = to_pixels(&plan).expect("fits");
        let probs: Vec<f32> = px.iter().map(|&v| f32::from(v) / 255.0).collect();
        assert_eq!(from_probabilities(&probs), Some((plan, false)));
    }

    #[test]
    fn broken_plans_say_what_is_wrong() {
        let plan = |s: &str| FloorPlan::from_ascii(s).expect("plan");
        assert_eq!(check(&plan("x.x\n...\n...\n")), Err(Invalid::NoGoal));
        assert_eq!(check(&plan("...\n.x.\n.g.\n")), Err(Invalid::FewShelves));
        // A corridor walled in by shelves cannot reach the goal.
        assert_eq!(
            check(&plan("...x.\n...xx\n.g...\n")).map_err(|e| e.to_string()),
            Err("1 corridor cell(s) cut off from every goal".into())
        );
        // A shelf surrounded by shelves cannot be carried out.
        assert_eq!(check(&plan("xxx..\nxxx..\nxxx.g\n")), Err(Invalid::TrappedShelves(6)), "the two left columns are walled in");
        assert_eq!(check(&plan("x.\n.g\n")), Err(Invalid::NotRectangular));
        assert!(FloorPlan::from_ascii("x.q\n").is_err());
        assert!(FloorPlan::from_ascii("x.\nx\n").is_err());
        // The extent is read along the first row and column; under 3 cells is no plan.
        let mut probs = to_pixels(&plan(TINY)).expect("fits").iter().map(|&v| f32::from(v) / 255.0).collect::<Vec<f32>>();
        probs[2 * SIDE * 3..2 * SIDE * 3 + 3].fill(0.1);
        assert_eq!(from_probabilities(&probs), None, "the first column stops after 2 rows");
        // Without a likely goal, the likeliest cell becomes one.
        let mut probs = to_pixels(&plan(TINY)).expect("fits").iter().map(|&v| f32::from(v) / 255.0).collect::<Vec<f32>>();
        for i in 0..SIDE * SIDE {
            if probs[i * 3 + 1] > 0.5 {
                probs[i * 3 + 1] = 0.05 * (i % 3) as f32;
                probs[i * 3 + 2] = 1.0;
            }
        }
        let (read, repaired) = from_probabilities(&probs).expect("a plan");
        assert_eq!(read.cells.iter().filter(|c| **c == Cell::Goal).count(), 1);
        assert!(repaired, "the repair is reported");
        assert!(to_pixels(&FloorPlan { width: 17, height: 3, cells: vec![Cell::Corridor; 51] }).is_err());
    }
}

//! Warehouse floor plans: rware's parametric layouts with random gaps and goals, a VAE
//! over them, and its checked samples written as grid-warehouse scene files.

use std::collections::HashSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::tally::{Tally, train_or_load};
use super::{Result, SceneGenConfig, SceneGenReport};
use crate::generative::layout;

/// A training floor plan: rware's parametric layout (3 or 5 shelf blocks, columns 2 to 6
/// high, 1 or 2 rows), then up to 3 shelves cleared to corridor and 1 to 3 goals placed at
/// random on the bottom row.
fn training_plan(rng: &mut ChaCha8Rng) -> Result<layout::FloorPlan> {
    let base = crate::scenes::warehouse::Layout::procedural(rng, (3, 5), (2, 6), (1, 2))?;
    let mut cells: Vec<layout::Cell> =
        base.highways.iter().map(|&h| if h { layout::Cell::Corridor } else { layout::Cell::Shelf }).collect();
    let shelves: Vec<usize> = (0..cells.len()).filter(|&i| cells[i] == layout::Cell::Shelf).collect();
    for _ in 0..rng.random_range(0..=3usize) {
        cells[shelves[rng.random_range(0..shelves.len())]] = layout::Cell::Corridor;
    }
    let bottom = (base.height - 1) * base.width;
    for _ in 0..rng.random_range(1..=3usize) {
        cells[bottom + rng.random_range(0..base.width)] = layout::Cell::Goal;
    }
    Ok(layout::FloorPlan { width: base.width, height: base.height, cells })
}

/// A grid-mode warehouse scene file around `plan` (two robots; two requests, or one when
/// the plan has only two shelves, as requests must be fewer than shelves).
fn layout_scene_text(plan: &layout::FloorPlan, note: &str) -> String {
    let shelves = plan.cells.iter().filter(|c| **c == layout::Cell::Shelf).count();
    format!(
        "# {note}\nmode = \"grid\"\nn_agents = 2\nrequest_queue_size = {}\nmax_steps = 500\n\n[layout]\nascii = \"\"\"\n{}\"\"\"\n",
        shelves.saturating_sub(1).clamp(1, 2),
        plan.to_ascii()
    )
}

/// `synthgym gen layouts`: trains (or loads) the floor-plan VAE, samples it, and writes
/// each valid sample as a grid warehouse, loaded and stepped; `log` hears progress.
pub fn run(c: &SceneGenConfig, log: &mut dyn FnMut(&str)) -> Result<SceneGenReport> {
    c.validate()?;
    let mut rng = crate::util::seed::rng_from_seed(c.seed);
    let plans = (0..c.train).map(|_| training_plan(&mut rng)).collect::<Result<Vec<_>>>()?;
    let distinct: HashSet<&layout::FloorPlan> = plans.iter().collect();
    let (trainer, meta) = train_or_load(c, &layout::image_set(&plans)?, "floor plan", log)?;
    let sampled = layout::sample_plans(&trainer.net, c.samples, c.temperature, c.seed.wrapping_add(1))?;
    let mut tally = Tally::new(&c.out, "layout", "Floor plan", "also in the training set", c.seed)?;
    for (k, s) in sampled.iter().enumerate() {
        if s.goal_repaired {
            tally.repaired(s.verdict.is_ok());
        }
        match (&s.plan, &s.verdict) {
            (Some(plan), Ok(())) => {
                tally.write(k, !distinct.contains(plan), |note| layout_scene_text(plan, note))?;
            }
            (_, verdict) => tally.invalid(verdict.as_ref().err().map_or_else(|| "unknown".into(), ToString::to_string)),
        }
    }
    tally.report(&c.out, (plans.len(), distinct.len()), &meta, sampled.len(), None)
}

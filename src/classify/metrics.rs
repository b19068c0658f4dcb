//! Evaluation of a classifier on a labelled set: accuracy, per-class precision,
//! recall and F1, the confusion matrix (as text, JSON and a PNG heat map).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Precision, recall and F1 of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Of the images predicted as this class, the fraction that are (0 when none were).
    pub precision: f64,
    /// Of the images of this class, the fraction predicted as it (0 when there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Images of this class in the set.
    pub support: u64,
}

/// The result of evaluating predictions against true labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// `confusion[t][p]`: images of true class `t` predicted as `p`.
    pub confusion: Vec<Vec<u64>>,
    /// Mean cross-entropy loss, where the caller had logits.
    pub loss: Option<f64>,
}

/// The JSON report of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Images evaluated.
    pub images: u64,
    /// Fraction predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Mean cross-entropy loss, if known.
    pub loss: Option<f64>,
    /// Per-class metrics.
    pub per_class: Vec<ClassMetrics>,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

impl EvalReport {
    /// Writes the report as JSON to `path`, atomically.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::util::fs::write_atomic(path, &json, false)
    }
}

impl Evaluation {
    /// Tallies `predicted` against `truth` (labels index `classes`).
    pub fn new(classes: &[String], truth: &[u32], predicted: &[u32], loss: Option<f64>) -> Self {
        let n = classes.len();
        let mut confusion = vec![vec![0u64; n]; n];
        for (&t, &p) in truth.iter().zip(predicted) {
            if (t as usize) < n && (p as usize) < n {
                confusion[t as usize][p as usize] += 1;
            }
        }
        Self { classes: classes.to_vec(), confusion, loss }
    }

    /// Images tallied.
    pub fn total(&self) -> u64 {
        self.confusion.iter().flatten().sum()
    }

    /// Fraction predicted correctly (0 for an empty set).
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.classes.len()).map(|i| self.confusion[i][i]).sum();
        correct as f64 / self.total().max(1) as f64
    }

    /// Precision, recall and F1 per class.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        let n = self.classes.len();
        (0..n)
            .map(|i| {
                let tp = self.confusion[i][i] as f64;
                let support: u64 = self.confusion[i].iter().sum();
                let predicted: u64 = (0..n).map(|t| self.confusion[t][i]).sum();
                let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
                let recall = if support > 0 { tp / support as f64 } else { 0.0 };
                let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
                ClassMetrics { class: self.classes[i].clone(), precision, recall, f1, support }
            })
            .collect()
    }

    /// Unweighted mean F1 over the classes that occur in the set or the predictions
    /// (scikit-learn's `f1_score(average="macro")` over the labels seen).
    pub fn macro_f1(&self) -> f64 {
        let n = self.classes.len();
        let predicted = |i: usize| (0..n).any(|t| self.confusion[t][i] > 0);
        let present: Vec<f64> =
            self.per_class().into_iter().enumerate().filter(|(i, m)| m.support > 0 || predicted(*i)).map(|(_, m)| m.f1).collect();
        present.iter().sum::<f64>() / present.len().max(1) as f64
    }

    /// The JSON-ready report.
    pub fn report(&self) -> EvalReport {
        EvalReport {
            images: self.total(),
            accuracy: self.accuracy(),
            macro_f1: self.macro_f1(),
            loss: self.loss,
            per_class: self.per_class(),
            classes: self.classes.clone(),
            confusion: self.confusion.clone(),
        }
    }

    /// The per-class table and the confusion matrix as aligned text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let name_w = self.classes.iter().map(String::len).max().unwrap_or(5).max(5);
        let _ = writeln!(out, "{:<name_w$}  precision  recall     f1  support", "class");
        for m in self.per_class() {
            let _ = writeln!(out, "{:<name_w$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}", m.class, m.precision, m.recall, m.f1, m.support);
        }
        let _ = writeln!(out, "accuracy {:.4} over {} images; macro F1 {:.4}", self.accuracy(), self.total(), self.macro_f1());
        let _ = writeln!(out, "\nconfusion matrix (rows: true class, columns: predicted, in class order)");
        let cell = self.confusion.iter().flatten().max().map_or(1, |m| m.to_string().len()).max(3);
        for (i, row) in self.confusion.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>cell$}")).collect();
            let _ = writeln!(out, "{:<name_w$}  {}", self.classes[i], cells.join(" "));
        }
        out
    }

    /// Writes the confusion matrix as a PNG heat map (rows true, columns predicted,
    /// shaded by the fraction of the row, counts printed in each cell).
    pub fn write_confusion_png(&self, path: &Path) -> std::io::Result<()> {
        let n = self.classes.len().max(1);
        let digits = self.confusion.iter().flatten().max().map_or(1, |m| m.to_string().len());
        let cell = (digits * 8 + 6).max(26);
        let size = n * cell;
        let mut rgb = vec![255u8; size * size * 3];
        for (t, row) in self.confusion.iter().enumerate() {
            let sum = row.iter().sum::<u64>().max(1) as f32;
            for (p, &count) in row.iter().enumerate() {
                let f = count as f32 / sum;
                // White → deep blue.
                let colour = [(255.0 * (1.0 - 0.85 * f)) as u8, (255.0 * (1.0 - 0.7 * f)) as u8, (255.0 - 80.0 * f) as u8];
                let ink = if f > 0.5 { [255u8; 3] } else { [0u8; 3] };
                for y in 0..cell {
                    for x in 0..cell {
                        let border = x == 0 || y == 0;
                        let px = ((t * cell + y) * size + p * cell + x) * 3;
                        rgb[px..px + 3].copy_from_slice(if border { &[200; 3] } else { &colour });
                    }
                }
                let text = count.to_string();
                let (tw, th) = (text.len() * 8 - 2, 10);
                draw_text(&mut rgb, size, p * cell + (cell - tw) / 2, t * cell + (cell - th) / 2, &text, ink);
            }
        }
        crate::data::png::write_png(path, size as u32, size as u32, crate::data::png::PngLayout::Rgb8, &rgb)
    }
}

/// 3 × 5 glyphs of the digits, one row per byte (bit 2 is the left column).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 3, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 2, 2],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// Draws decimal `text` at 2× scale (6 × 10 px glyphs, 8 px apart) into an RGB image `width` wide.
fn draw_text(rgb: &mut [u8], width: usize, x0: usize, y0: usize, text: &str, ink: [u8; 3]) {
    for (i, ch) in text.chars().enumerate() {
        let Some(d) = ch.to_digit(10) else { continue };
        for (row, bits) in DIGITS[d as usize].iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (x, y) = (x0 + i * 8 + col * 2 + dx, y0 + row * 2 + dy);
                    let px = (y * width + x) * 3;
                    if px + 3 <= rgb.len() {
                        rgb[px..px + 3].copy_from_slice(&ink);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values from scikit-learn 1.5:
    /// ```python
    /// from sklearn.metrics import precision_recall_fscore_support, accuracy_score
    /// t = [0, 0, 0, 1, 1, 2]; p = [0, 1, 0, 1, 2, 2]
    /// precision_recall_fscore_support(t, p)  # P [1, .5, .5], R [.667, .5, 1], F1 [.8, .5, .667]
    /// accuracy_score(t, p)  # 0.6667
    /// ```
    #[test]
    fn metrics_match_scikit_learn() {
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let e = Evaluation::new(&classes, &[0, 0, 0, 1, 1, 2], &[0, 1, 0, 1, 2, 2], None);
        assert!((e.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let m = e.per_class();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
        assert!(close(m[0].precision, 1.0) && close(m[1].precision, 0.5) && close(m[2].precision, 0.5), "{m:?}");
        assert!(close(m[0].recall, 0.667) && close(m[1].recall, 0.5) && close(m[2].recall, 1.0), "{m:?}");
        assert!(close(m[0].f1, 0.8) && close(m[1].f1, 0.5) && close(m[2].f1, 0.667), "{m:?}");
        assert!(close(e.macro_f1(), (0.8 + 0.5 + 2.0 / 3.0) / 3.0));
        assert_eq!(e.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
        // A class that is only predicted counts towards macro F1 (with F1 0), as in
        // scikit-learn: f1_score([0, 0], [0, 1], average="macro") == 0.5.
        let only_predicted = Evaluation::new(&classes, &[0, 0], &[0, 1], None);
        assert!(close(only_predicted.macro_f1(), (2.0 / 3.0 + 0.0) / 2.0), "{}", only_predicted.macro_f1());
        let text = e.to_text();
        assert!(text.contains("accuracy 0.6667 over 6 images"), "{text}");
    }

    #[test]
    fn confusion_png_has_one_cell_per_pair() -> std::io::Result<()> {
        let classes: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let e = Evaluation::new(&classes, &[0, 1, 1], &[0, 1, 0], None);
        let path = std::env::temp_dir().join(format!("synthgym-confusion-{}.png", std::process::id()));
        e.write_confusion_png(&path)?;
        let (w, h, c, data) = crate::data::png::decode_png(&path).map_err(std::io::Error::other)?;
        assert_eq!((w, h, c), (52, 52, 3));
        // Cell (0, 0) is all of row 0: dark; cell (0, 1) is none of it: white.
        assert!(data[(13 * 52 + 3) * 3] < 100 && data[(13 * 52 + 29) * 3] == 255);
        std::fs::remove_file(&path)
    }
}

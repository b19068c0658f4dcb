//! The transfer report: one classifier per training set (rendered only, generated
//! only, mixed, …) with one config and seed, each evaluated on the same test sets
//! (same-distribution renders, renders of another scene or randomisation range, real
//! images), side by side.

use std::fmt::Write as _;
use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use super::metrics::EvalReport;
use super::train::TrainOutcome;
use super::{ClassifyConfig, ClassifyError, Result, checkpoint};
use crate::data::{ImageSet, ImageSpec};

/// A dataset with the name it has in the report.
#[derive(Debug)]
pub struct NamedSet {
    /// Row or column name (`rendered`, `generated`, `mixed`, `shifted`, …).
    pub name: String,
    /// The images.
    pub set: ImageSet,
}

/// One test set's result for one classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Test set name.
    pub test: String,
    /// Accuracy, macro F1 and the rest.
    pub report: EvalReport,
}

/// One classifier: what it was trained on and how it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferRow {
    /// Training set name.
    pub train: String,
    /// Images in the training set (validation split included).
    pub train_images: usize,
    /// Epochs trained and the best epoch.
    pub epochs: (usize, usize),
    /// Validation accuracy on the training distribution.
    pub val_accuracy: Option<f64>,
    /// Results on every test set.
    pub results: Vec<TestResult>,
}

/// The whole report (`report.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferReport {
    /// The training config every classifier shared.
    pub config: ClassifyConfig,
    /// The input spec every set was converted to.
    pub spec: ImageSpec,
    /// Test set names and sizes.
    pub tests: Vec<(String, usize)>,
    /// One row per training set.
    pub rows: Vec<TransferRow>,
}

impl TransferReport {
    /// The report as a Markdown table: accuracy (macro F1) per training and test set.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "| trained on | images | val acc |");
        for (name, n) in &self.tests {
            let _ = write!(out, " {name} ({n}) acc (F1) |");
        }
        let _ = write!(out, "\n|---|---:|---:|");
        for _ in &self.tests {
            let _ = write!(out, "---:|");
        }
        out.push('\n');
        for row in &self.rows {
            let val = row.val_accuracy.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
            let _ = write!(out, "| {} | {} | {val} |", row.train, row.train_images);
            for r in &row.results {
                let _ = write!(out, " {:.3} ({:.3}) |", r.report.accuracy, r.report.macro_f1);
            }
            out.push('\n');
        }
        out
    }
}

/// Trains one classifier per training set with `train_one(name, set, run_dir)` (the
/// caller wraps [`super::train::train`] with its progress display) in
/// `out_dir/<name>/`, evaluates each best checkpoint on every test set, and writes
/// `report.json` and `report.md` to `out_dir`.
pub fn transfer(
    config: &ClassifyConfig,
    trains: &[NamedSet],
    tests: &[NamedSet],
    device: &Device,
    out_dir: &Path,
    train_one: &mut dyn FnMut(&str, &ImageSet, &Path) -> Result<TrainOutcome>,
) -> Result<TransferReport> {
    let Some(first) = trains.first() else { return Err(ClassifyError::config("train", "give at least one training set")) };
    if tests.is_empty() {
        return Err(ClassifyError::config("test", "give at least one test set"));
    }
    for named in trains.iter().chain(tests) {
        if named.set.spec() != first.set.spec() {
            return Err(ClassifyError::config(
                &named.name,
                format!("images are {}, '{}' has {}", named.set.spec(), first.name, first.set.spec()),
            ));
        }
    }
    // A report from an earlier run must not sit, complete-looking, beside new runs.
    for name in ["report.json", "report.md"] {
        match std::fs::remove_file(out_dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(ClassifyError::io(out_dir.join(name))(e)),
            _ => {}
        }
    }
    let mut rows = Vec::new();
    for named in trains {
        let run_dir = out_dir.join(&named.name);
        let outcome = train_one(&named.name, &named.set, &run_dir)?;
        let loaded = checkpoint::load(&outcome.best, device)?;
        let mut results = Vec::new();
        for test in tests {
            let report = loaded.evaluate(&test.set)?.report();
            let path = run_dir.join(format!("eval-{}.json", test.name));
            report.write_json(&path).map_err(ClassifyError::io(&path))?;
            results.push(TestResult { test: test.name.clone(), report });
        }
        rows.push(TransferRow {
            train: named.name.clone(),
            train_images: named.set.len(),
            epochs: (outcome.epochs_run, outcome.best_epoch),
            val_accuracy: outcome.best_val_accuracy,
            results,
        });
    }
    let report = TransferReport {
        config: config.clone(),
        spec: first.set.spec(),
        tests: tests.iter().map(|t| (t.name.clone(), t.set.len())).collect(),
        rows,
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| ClassifyError::config("report", e.to_string()))?;
    for (name, bytes) in [("report.json", json), ("report.md", report.to_markdown().into_bytes())] {
        let path = out_dir.join(name);
        crate::util::fs::write_atomic(&path, &bytes, false).map_err(ClassifyError::io(&path))?;
    }
    Ok(report)
}

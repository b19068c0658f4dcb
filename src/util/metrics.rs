//! Training metrics as files: a CSV table and a TensorBoard event file.
//!
//! [`MetricsWriter`] writes every logged scalar to both `metrics.csv` (one row per
//! call, one column per metric name, blanks where a row lacks a metric) and a
//! TensorBoard `events.out.tfevents.*` file that `tensorboard --logdir` reads.
//!
//! The event file is written by hand rather than through a protobuf crate: it is a
//! TFRecord stream (length, masked CRC-32C of the length, payload, masked CRC-32C of
//! the payload) of `Event` protobuf messages, and scalars need only four fields.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes scalars to `metrics.csv` and a TensorBoard event file in one directory.
#[derive(Debug)]
pub struct MetricsWriter {
    columns: Vec<String>,
    csv: BufWriter<File>,
    events: BufWriter<File>,
    csv_path: PathBuf,
}

impl MetricsWriter {
    /// Opens the writers in `dir` with a fixed column set (`step` comes first).
    ///
    /// With `resume_at: Some(step)` (a run continued from a checkpoint taken at `step`),
    /// an existing `metrics.csv` whose header matches is continued after dropping the rows
    /// logged past `step` (and a row cut short by a crash): those steps are run again, and
    /// keeping them would repeat steps and make them go backwards. The file is rewritten
    /// atomically. Otherwise the file is created anew. A new event file is always started,
    /// as TensorBoard merges all event files of a directory (and, on its own, discards
    /// the older files' events past the step a restarted run logs first).
    pub fn create(dir: &Path, columns: &[&str], resume_at: Option<u64>) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let csv_path = dir.join("metrics.csv");
        let header = std::iter::once("step").chain(columns.iter().copied()).collect::<Vec<_>>().join(",");
        let kept = match (resume_at, std::fs::read_to_string(&csv_path)) {
            (Some(step), Ok(text)) if text.lines().next() == Some(header.as_str()) => Some(rows_up_to(&text, step, columns.len() + 1)),
            _ => None,
        };
        let csv = match kept {
            Some(text) => {
                super::fs::write_atomic(&csv_path, text.as_bytes(), false)?;
                OpenOptions::new().append(true).open(&csv_path)?
            }
            None => {
                let mut f = File::create(&csv_path)?;
                writeln!(f, "{header}")?;
                f
            }
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let events_path = dir.join(format!("events.out.tfevents.{}.synthgym.{}.{}", now.as_secs(), std::process::id(), now.subsec_nanos()));
        let mut events = BufWriter::new(File::create(events_path)?);
        write_record(&mut events, &event_bytes(wall_time(), 0, EventBody::FileVersion("brain.Event:2")))?;
        Ok(Self { columns: columns.iter().map(|c| (*c).to_owned()).collect(), csv: BufWriter::new(csv), events, csv_path })
    }

    /// Logs `values` at `step`: one CSV row, and one TensorBoard scalar per value.
    /// Names outside the column set are written to TensorBoard only.
    pub fn log(&mut self, step: u64, values: &[(&str, f64)]) -> io::Result<()> {
        let mut row = step.to_string();
        for column in &self.columns {
            row.push(',');
            if let Some((_, v)) = values.iter().find(|(name, _)| name == column) {
                row.push_str(&format_value(*v));
            }
        }
        writeln!(self.csv, "{row}")?;
        let time = wall_time();
        for (name, value) in values {
            write_record(&mut self.events, &event_bytes(time, step as i64, EventBody::Scalar(name, *value as f32)))?;
        }
        Ok(())
    }

    /// Flushes both files to the operating system.
    pub fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()?;
        self.events.flush()
    }

    /// Path of the CSV file.
    pub fn csv_path(&self) -> &Path {
        &self.csv_path
    }
}

/// The header and the complete rows of a metrics CSV whose step is at most `step`.
fn rows_up_to(text: &str, step: u64, fields: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let complete = line.ends_with('\n') && line.split(',').count() == fields;
        let in_range = i == 0 || line.split(',').next().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= step);
        if complete && in_range {
            out.push_str(line);
        }
    }
    out
}

fn format_value(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

fn wall_time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// What an event carries.
enum EventBody<'a> {
    FileVersion(&'a str),
    Scalar(&'a str, f32),
}

/// Encodes a `tensorflow.Event` message: `wall_time` (1, double), `step` (2, int64),
/// and either `file_version` (3, string) or `summary` (5) holding one
/// `Summary.Value { tag (1), simple_value (2, float) }`.
fn event_bytes(wall_time: f64, step: i64, body: EventBody<'_>) -> Vec<u8> {
    let mut out = vec![0x09];
    out.extend_from_slice(&wall_time.to_le_bytes());
    out.push(0x10);
    put_varint(&mut out, step as u64);
    match body {
        EventBody::FileVersion(v) => put_bytes(&mut out, 0x1a, v.as_bytes()),
        EventBody::Scalar(tag, value) => {
            let mut val = Vec::with_capacity(tag.len() + 8);
            put_bytes(&mut val, 0x0a, tag.as_bytes());
            val.push(0x15);
            val.extend_from_slice(&value.to_le_bytes());
            let mut summary = Vec::with_capacity(val.len() + 2);
            put_bytes(&mut summary, 0x0a, &val);
            put_bytes(&mut out, 0x2a, &summary);
        }
    }
    out
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    out.push(key);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Writes one TFRecord: length, masked CRC of the length, data, masked CRC of the data.
fn write_record(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    w.write_all(&len)?;
    w.write_all(&masked_crc32c(&len).to_le_bytes())?;
    w.write_all(data)?;
    w.write_all(&masked_crc32c(data).to_le_bytes())
}

/// CRC-32C (Castagnoli), bitwise over a 256-entry table built at compile time.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut k = 0;
            while k < 8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
                k += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |crc, &b| TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8))
}

/// TFRecord's masking of a CRC, so that CRCs of CRCs do not collide.
fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// Reads back the scalars of a TensorBoard event file as `(step, tag, value)`,
/// verifying every record's CRCs. Used by tests and by `synthgym` to summarise runs.
pub fn read_scalars(path: &Path) -> io::Result<Vec<(i64, String, f32)>> {
    let bytes = std::fs::read(path)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()));
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 12).ok_or_else(|| bad("truncated record header"))?;
        let (len_bytes, len_crc) = header.split_at(8);
        if masked_crc32c(len_bytes).to_le_bytes() != len_crc {
            return Err(bad("length CRC mismatch"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().map_err(|_| bad("length"))?) as usize;
        let data = bytes.get(pos + 12..pos + 12 + len).ok_or_else(|| bad("truncated record"))?;
        let crc = bytes.get(pos + 12 + len..pos + 16 + len).ok_or_else(|| bad("truncated record CRC"))?;
        if masked_crc32c(data).to_le_bytes() != crc {
            return Err(bad("data CRC mismatch"));
        }
        if let Some(scalar) = parse_scalar_event(data) {
            out.push(scalar);
        }
        pos += 16 + len;
    }
    Ok(out)
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Parses an `Event` holding one scalar summary value; `None` for anything else.
fn parse_scalar_event(data: &[u8]) -> Option<(i64, String, f32)> {
    let (mut pos, mut step, mut summary) = (0, 0i64, None);
    while pos < data.len() {
        let key = get_varint(data, &mut pos)?;
        match (key >> 3, key & 7) {
            (_, 1) => pos += 8,
            (_, 5) => pos += 4,
            (2, 0) => step = get_varint(data, &mut pos)? as i64,
            (_, 0) => {
                get_varint(data, &mut pos)?;
            }
            (field, 2) => {
                let len = get_varint(data, &mut pos)? as usize;
                let body = data.get(pos..pos + len)?;
                if field == 5 {
                    summary = Some(body);
                }
                pos += len;
            }
            _ => return None,
        }
    }
    // Summary { value (1) } → Value { tag (1), simple_value (2) }.
    let summary = summary?;
    let mut pos = 0;
    if get_varint(summary, &mut pos)? != 0x0a {
        return None;
    }
    let len = get_varint(summary, &mut pos)? as usize;
    let value = summary.get(pos..pos + len)?;
    let (mut p, mut tag, mut simple) = (0, None, None);
    while p < value.len() {
        match get_varint(value, &mut p)? {
            0x0a => {
                let l = get_varint(value, &mut p)? as usize;
                tag = Some(String::from_utf8(value.get(p..p + l)?.to_vec()).ok()?);
                p += l;
            }
            0x15 => {
                simple = Some(f32::from_le_bytes(value.get(p..p + 4)?.try_into().ok()?));
                p += 4;
            }
            _ => return None,
        }
    }
    Some((step, tag?, simple?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The CRC-32C "check" value from the Rocksoft catalogue.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn csv_and_event_file_round_trip() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("synthgym-metrics-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut w = MetricsWriter::create(&dir, &["loss", "return"], None)?;
        w.log(10, &[("loss", 0.5), ("return", 12.0)])?;
        w.log(20, &[("return", 30.25)])?;
        w.flush()?;
        let csv = std::fs::read_to_string(dir.join("metrics.csv"))?;
        assert_eq!(csv, "step,loss,return\n10,0.5,12\n20,,30.25\n");
        let events = std::fs::read_dir(&dir)?.filter_map(Result::ok).find(|e| e.file_name().to_string_lossy().starts_with("events.out"));
        let scalars = read_scalars(&events.map(|e| e.path()).ok_or_else(|| io::Error::other("no event file"))?)?;
        assert_eq!(scalars, vec![(10, "loss".into(), 0.5), (10, "return".into(), 12.0), (20, "return".into(), 30.25)]);
        // Resuming continues a CSV with the same header.
        let mut w = MetricsWriter::create(&dir, &["loss", "return"], Some(20))?;
        w.log(30, &[("loss", 0.25)])?;
        w.flush()?;
        assert!(std::fs::read_to_string(dir.join("metrics.csv"))?.ends_with("20,,30.25\n30,0.25,\n"));
        std::fs::remove_dir_all(&dir)
    }

    #[test]
    fn resuming_drops_the_rows_past_the_checkpoint_and_a_torn_row() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("synthgym-metrics-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        // Logged up to step 40, checkpointed at 20, then killed mid-row.
        std::fs::write(dir.join("metrics.csv"), "step,loss\n10,0.5\n20,0.4\n30,0.3\n40,0.2\n5")?;
        let mut w = MetricsWriter::create(&dir, &["loss"], Some(20))?;
        w.log(30, &[("loss", 0.35)])?;
        w.flush()?;
        assert_eq!(std::fs::read_to_string(dir.join("metrics.csv"))?, "step,loss\n10,0.5\n20,0.4\n30,0.35\n");
        // A header that changed starts the file anew.
        let w = MetricsWriter::create(&dir, &["loss", "other"], Some(20))?;
        drop(w);
        assert_eq!(std::fs::read_to_string(dir.join("metrics.csv"))?, "step,loss,other\n");
        std::fs::remove_dir_all(&dir)
    }
}

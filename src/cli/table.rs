//! Plain-text and CSV tables for command output.

use std::io::{self, Write};

use super::Format;

/// A table with a header row, printed aligned or as CSV.
pub struct Table {
    header: Vec<String>,
    /// Columns whose cells are right-aligned (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns; a leading `>` in a name right-aligns the column.
    pub fn new(columns: &[&str]) -> Self {
        Self {
            header: columns.iter().map(|c| c.trim_start_matches('>').to_owned()).collect(),
            right: columns.iter().map(|c| c.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    fn widths(&self) -> Vec<usize> {
        (0..self.header.len())
            .map(|c| self.rows.iter().chain([&self.header]).map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0))
            .collect()
    }

    fn line(&self, row: &[String], widths: &[usize]) -> String {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .zip(&self.right)
            .map(|((cell, &w), &right)| if right { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
            .collect();
        cells.join("  ").trim_end().to_owned()
    }

    /// The header line, or the CSV header.
    pub fn header_line(&self, format: Format, widths: &[usize]) -> String {
        match format {
            Format::Table => self.line(&self.header, widths),
            Format::Csv => csv_line(&self.header),
        }
    }

    /// Writes the whole table.
    pub fn write(&self, out: &mut impl Write, format: Format) -> io::Result<()> {
        let widths = self.widths();
        writeln!(out, "{}", self.header_line(format, &widths))?;
        for row in &self.rows {
            let line = match format {
                Format::Table => self.line(row, &widths),
                Format::Csv => csv_line(row),
            };
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

fn csv_line(row: &[String]) -> String {
    row.iter()
        .map(|c| if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.clone() })
        .collect::<Vec<_>>()
        .join(",")
}

/// Formats a rate with thousands separators, e.g. `12,345,678`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn tables_align_and_quote() -> io::Result<()> {
        let mut t = Table::new(&["name", ">n"]);
        t.push(vec!["a,b".into(), "1".into()]);
        t.push(vec!["long name".into(), "100".into()]);
        let mut out = Vec::new();
        t.write(&mut out, Format::Table)?;
        assert_eq!(String::from_utf8_lossy(&out), "name         n\na,b          1\nlong name  100\n");
        let mut csv = Vec::new();
        t.write(&mut csv, Format::Csv)?;
        assert_eq!(String::from_utf8_lossy(&csv), "name,n\n\"a,b\",1\nlong name,100\n");
        Ok(())
    }
}

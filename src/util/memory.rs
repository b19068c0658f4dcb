//! How much memory a plan needs against how much the machine has: sizes that come from
//! users (for the RL learner: buffer lengths, batch sizes, layer widths) are checked with
//! an estimate before allocating, so that a typo is refused with a figure instead of
//! aborting the process with `memory allocation of N bytes failed`. (Classifier and
//! generative configs are held to fixed bounds instead.)

use std::fmt;

/// Bytes this process can still allocate: the kernel's `MemAvailable`, lowered to what
/// the cgroup's `memory.max` leaves when that is smaller. The cgroup's usage counts page
/// cache, which the kernel reclaims near the limit, so its reclaimable part
/// (`inactive_file`) is counted as free, as container runtimes do for the working set.
/// `None` where neither is known.
pub fn available_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
    });
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok()?.trim().parse::<u64>().ok();
    let inactive_file = std::fs::read_to_string("/sys/fs/cgroup/memory.stat")
        .ok()
        .and_then(|text| text.lines().find_map(|l| l.strip_prefix("inactive_file ")).and_then(|v| v.trim().parse::<u64>().ok()));
    let working_set = read("memory.current").unwrap_or(0).saturating_sub(inactive_file.unwrap_or(0));
    let cgroup = read("memory.max").map(|max| max.saturating_sub(working_set));
    match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One part of an estimate: what it is for and its bytes (u128, so that products of
/// user-given sizes cannot overflow).
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The user-facing field that sizes it most (named by the error).
    pub field: &'static str,
    /// What it holds, naming the sizes that multiply.
    pub what: String,
    /// Bytes.
    pub bytes: u128,
}

/// A plan that needs more memory than is available.
#[derive(Clone, Debug, PartialEq)]
pub struct TooBig {
    /// The estimate's parts, largest first.
    pub parts: Vec<Part>,
    /// Their sum.
    pub total: u128,
    /// What was available.
    pub available: u64,
}

impl fmt::Display for TooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "needs about {} but {} is available (", human(self.total), human(u128::from(self.available)))?;
        for (i, p) in self.parts.iter().take(3).enumerate() {
            write!(f, "{}{}: {}", if i > 0 { "; " } else { "" }, p.what, human(p.bytes))?;
        }
        write!(f, ")")
    }
}

/// Errors when the parts sum to more than `available` (when that is known).
pub fn check(mut parts: Vec<Part>, available: Option<u64>) -> Result<(), TooBig> {
    let total = parts.iter().fold(0u128, |sum, p| sum.saturating_add(p.bytes));
    match available {
        Some(available) if total > u128::from(available) => {
            parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
            Err(TooBig { parts, total, available })
        }
        _ => Ok(()),
    }
}

/// `n` bytes for people: "512 B", "3.2 MiB", "1.5e6 TiB".
pub fn human(n: u128) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ if v >= 1e5 => format!("{v:.1e} {}", UNITS[unit]),
        _ => format!("{v:.1} {}", UNITS[unit]),
    }
}

/// `a × b × …` as u128 (saturating).
pub fn product(factors: &[usize]) -> u128 {
    factors.iter().fold(1u128, |p, &f| p.saturating_mul(f as u128))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_over_the_limit_are_refused_with_the_largest_parts() {
        let parts = vec![
            Part { field: "a", what: "small".into(), bytes: 10 },
            Part { field: "ppo.num_steps", what: "ppo.num_steps × rows × obs".into(), bytes: product(&[1_000_000_000, 8, 4, 4]) },
        ];
        assert!(check(parts.clone(), None).is_ok());
        assert!(check(parts.clone(), Some(u64::MAX)).is_ok());
        let Err(err) = check(parts, Some(1 << 30)) else { panic!("119 GiB fit in 1 GiB") };
        assert_eq!(err.parts[0].field, "ppo.num_steps");
        assert_eq!(err.to_string(), "needs about 119.2 GiB but 1.0 GiB is available (ppo.num_steps × rows × obs: 119.2 GiB; small: 10 B)");
        assert_eq!(product(&[usize::MAX, usize::MAX, usize::MAX]), u128::MAX);
        assert_eq!(human(1536), "1.5 KiB");
    }

    #[test]
    fn this_machine_reports_some_memory() {
        #[cfg(target_os = "linux")]
        assert!(available_bytes().is_some_and(|b| b > 1 << 20));
    }
}

//! Reproduces how rware breaks ties between equally long chains of robots competing
//! for one free cell.
//!
//! rware resolves moves with networkx: for each weakly connected component it takes
//! `dag_longest_path` of `G.subgraph(component).copy()`, whose predecessor order, and
//! so the winner of a tie, is the iteration order of that subgraph's nodes. When the
//! component has fewer than half of the graph's nodes, networkx iterates the node
//! *set* it was given, so the order is CPython's hash-table order of the `(x, y)`
//! tuples; otherwise it is the graph's insertion order. This module emulates exactly
//! that: CPython 3.8+'s tuple hash and its set insertion with linear probing and
//! perturbation. It only runs when a tie actually occurs.

/// CPython's `hash((x, y))` for small non-negative ints (which hash to themselves).
pub fn tuple_hash(x: u64, y: u64) -> u64 {
    const P1: u64 = 11_400_714_785_074_694_791;
    const P2: u64 = 14_029_467_366_897_019_727;
    const P5: u64 = 2_870_177_450_012_600_261;
    let mut acc = P5;
    for lane in [x, y] {
        acc = acc.wrapping_add(lane.wrapping_mul(P2));
        acc = acc.rotate_left(31);
        acc = acc.wrapping_mul(P1);
    }
    acc = acc.wrapping_add(2 ^ (P5 ^ 3_527_539));
    if acc == u64::MAX { 1_546_275_796 } else { acc }
}

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;
const MIN_SIZE: usize = 8;

/// Inserts a hash into an open-addressing table as `set_insert_clean` does.
fn insert_clean(table: &mut [Option<(u64, usize)>], hash: u64, item: usize) {
    let mask = table.len() - 1;
    let mut perturb = hash;
    let mut i = (hash as usize) & mask;
    loop {
        if table[i].is_none() {
            table[i] = Some((hash, item));
            return;
        }
        if i + LINEAR_PROBES <= mask {
            for j in 1..=LINEAR_PROBES {
                if table[i + j].is_none() {
                    table[i + j] = Some((hash, item));
                    return;
                }
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
    }
}

/// The iteration order of a CPython `set` built by adding `hashes` one by one
/// (all distinct), as indices into `hashes`.
pub fn set_order(hashes: &[u64]) -> Vec<usize> {
    let mut table: Vec<Option<(u64, usize)>> = vec![None; MIN_SIZE];
    let mut used = 0usize;
    for (item, &hash) in hashes.iter().enumerate() {
        // set_add_entry probes like insert_clean when there are no deleted entries.
        insert_clean(&mut table, hash, item);
        used += 1;
        let mask = table.len() - 1;
        if used * 5 >= mask * 3 {
            let minused = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = MIN_SIZE;
            while size <= minused {
                size <<= 1;
            }
            let mut resized = vec![None; size];
            for (h, it) in table.iter().flatten() {
                insert_clean(&mut resized, *h, *it);
            }
            table = resized;
        }
    }
    table.iter().flatten().map(|(_, it)| *it).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values from CPython 3.11:
    /// ```python
    /// print(hash((0, 0)), hash((3, 4)), hash((12, 7)))
    /// s = set(); [s.add(t) for t in [(2, 4), (3, 4), (4, 4), (0, 4), (0, 3), (5, 1), (1, 1)]]; print(list(s))
    /// # -8458139203682520985 1079245023883434373 -7462323944241950844
    /// # [(4, 4), (2, 4), (0, 4), (3, 4), (1, 1), (0, 3), (5, 1)]
    /// ```
    #[test]
    fn matches_cpython() {
        assert_eq!(tuple_hash(0, 0) as i64, -8_458_139_203_682_520_985);
        assert_eq!(tuple_hash(3, 4) as i64, 1_079_245_023_883_434_373);
        assert_eq!(tuple_hash(12, 7) as i64, -7_462_323_944_241_950_844);
        let items = [(2, 4), (3, 4), (4, 4), (0, 4), (0, 3), (5, 1), (1, 1)];
        let hashes: Vec<u64> = items.iter().map(|&(x, y)| tuple_hash(x, y)).collect();
        let order: Vec<(u64, u64)> = set_order(&hashes).into_iter().map(|i| items[i]).collect();
        assert_eq!(order, [(4, 4), (2, 4), (0, 4), (3, 4), (1, 1), (0, 3), (5, 1)]);
    }
}

//! RTO and RPO from the client probe's samples.
//!
//! RTO is the client-visible outage: for every gap (one or more failed
//! samples in a row) the time from the last success before it to the first
//! success after it; a phase's RTO is its longest gap. RPO is the rows the
//! client was told were committed (acknowledged writes) that a read after
//! the phase cannot find, listed by key.

use serde::{Deserialize, Serialize};

/// One probe sample: a write through the VIP, then a read of the same key.
/// Times are Unix epoch seconds (controller clock) when the answer came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSample {
    pub t: f64,
    pub key: String,
    /// The write was acknowledged (exit 0).
    pub write_ok: bool,
    /// The key read back with its value right after the write.
    pub read_ok: bool,
    /// The node that answered, when the write command says so (the lab's
    /// `hvrsimclient put` prints `committed on NODE`).
    pub server: Option<String>,
}

impl ProbeSample {
    /// A sample counts as a success only if the write and the read both did.
    pub fn ok(&self) -> bool {
        self.write_ok && self.read_ok
    }
}

/// The longest client-visible outage in a series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Last success before the gap (epoch seconds); `None` if the series
    /// started failing (then the gap is measured from the first sample).
    pub from: f64,
    /// First success after the gap; `None` if the client never recovered.
    pub to: Option<f64>,
    pub failed_samples: u64,
}

impl Outage {
    /// Milliseconds, or `None` while not recovered.
    pub fn millis(&self) -> Option<f64> {
        self.to.map(|to| ((to - self.from) * 1000.0).max(0.0))
    }
}

/// Every gap in `samples` (sorted by time), the last success before the
/// series (`before`, when the probe saw one) included as its start.
pub fn gaps(before: Option<f64>, samples: &[ProbeSample]) -> Vec<Outage> {
    let mut out = Vec::new();
    let mut last_ok = before;
    let mut open: Option<Outage> = None;
    for s in samples {
        if s.ok() {
            if let Some(mut gap) = open.take() {
                gap.to = Some(s.t);
                out.push(gap);
            }
            last_ok = Some(s.t);
        } else {
            let gap = open.get_or_insert(Outage {
                from: last_ok.unwrap_or(s.t),
                to: None,
                failed_samples: 0,
            });
            gap.failed_samples += 1;
        }
    }
    out.extend(open);
    out
}

/// The phase's RTO: its longest gap; an unrecovered gap beats every other.
/// `None` when the client never failed.
pub fn rto(before: Option<f64>, samples: &[ProbeSample]) -> Option<Outage> {
    gaps(before, samples).into_iter().max_by(|a, b| {
        let key = |o: &Outage| o.millis().unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b))
    })
}

/// Keys the client was told were committed in this series.
pub fn acked(samples: &[ProbeSample]) -> Vec<String> {
    samples
        .iter()
        .filter(|s| s.write_ok)
        .map(|s| s.key.clone())
        .collect()
}

/// RPO by key: the acknowledged keys absent from `present` (what a read
/// after the phase found), in write order.
pub fn lost(acked: &[String], present: &std::collections::BTreeSet<String>) -> Vec<String> {
    acked
        .iter()
        .filter(|k| !present.contains(*k))
        .cloned()
        .collect()
}

/// Time spans as `(start, end)` in epoch seconds.
pub type Span = (f64, f64);

/// The spans merged where they overlap, clipped to `window`, in time order.
pub fn union_within(spans: &[Span], window: Span) -> Vec<Span> {
    let mut clipped: Vec<Span> = spans
        .iter()
        .map(|&(a, b)| (a.max(window.0), b.min(window.1)))
        .filter(|(a, b)| b > a)
        .collect();
    clipped.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut out: Vec<Span> = Vec::new();
    for (a, b) in clipped {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Milliseconds covered by `spans` (merged, so nothing counts twice).
pub fn covered_ms(spans: &[Span]) -> f64 {
    spans.iter().map(|(a, b)| (b - a) * 1000.0).sum()
}

/// Milliseconds of `spans` that no span of `others` covers (both merged).
pub fn uncovered_ms(spans: &[Span], others: &[Span]) -> f64 {
    let mut total = 0.0;
    for &(a, b) in spans {
        let mut left = b - a;
        for &(c, d) in others {
            let overlap = b.min(d) - a.max(c);
            if overlap > 0.0 {
                left -= overlap;
            }
        }
        total += left.max(0.0) * 1000.0;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(pattern: &str) -> Vec<ProbeSample> {
        // One sample every 20 ms from t = 100 s: '+' ok, 'w' write ok but
        // read failed, '-' both failed.
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| ProbeSample {
                t: 100.0 + i as f64 * 0.02,
                key: format!("k{i}"),
                write_ok: c != '-',
                read_ok: c == '+',
                server: None,
            })
            .collect()
    }

    #[test]
    fn no_failure_no_outage() {
        assert_eq!(rto(Some(99.0), &series("++++")), None);
    }

    #[test]
    fn gap_runs_from_last_success_to_first_success() {
        let s = series("++---+++");
        let gap = rto(None, &s).unwrap();
        assert_eq!(gap.failed_samples, 3);
        assert!((gap.from - 100.02).abs() < 1e-9);
        assert!((gap.millis().unwrap() - 80.0).abs() < 1e-6);
    }

    #[test]
    fn the_longest_of_several_gaps_and_a_read_failure_counts() {
        let s = series("+-+w---+");
        let all = gaps(None, &s);
        assert_eq!(all.len(), 2);
        let gap = rto(None, &s).unwrap();
        // From sample 2 (100.04) to sample 7 (100.14).
        assert!((gap.millis().unwrap() - 100.0).abs() < 1e-6, "{gap:?}");
    }

    #[test]
    fn gap_at_the_start_is_measured_from_the_success_before_the_phase() {
        let gap = rto(Some(99.9), &series("--+")).unwrap();
        assert!((gap.millis().unwrap() - 140.0).abs() < 1e-6, "{gap:?}");
        // Without one, from the first failed sample.
        let gap = rto(None, &series("--+")).unwrap();
        assert!((gap.millis().unwrap() - 40.0).abs() < 1e-6, "{gap:?}");
    }

    #[test]
    fn unrecovered_gap_wins_and_has_no_millis() {
        let gap = rto(None, &series("+-----+--")).unwrap();
        assert_eq!(gap.to, None);
        assert_eq!(gap.millis(), None);
        assert_eq!(gap.failed_samples, 2);
    }

    #[test]
    fn lost_keys_are_acked_keys_not_read_back() {
        let s = series("+w-+");
        let acked = acked(&s);
        assert_eq!(acked, ["k0", "k1", "k3"]);
        let present = ["k0", "k3", "other"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(lost(&acked, &present), ["k1"]);
    }
    #[test]
    fn spans_merge_clip_and_subtract() {
        let merged = union_within(
            &[(1.5, 2.5), (0.0, 1.2), (1.0, 1.6), (3.0, 4.0)],
            (0.5, 3.5),
        );
        assert_eq!(merged, vec![(0.5, 2.5), (3.0, 3.5)]);
        assert!((covered_ms(&merged) - 2500.0).abs() < 1e-6);
        // The part not overlapped by (2.0, 3.2): 0.5..2.0 and 3.2..3.5.
        let alone = uncovered_ms(&merged, &[(2.0, 3.2)]);
        assert!((alone - 1800.0).abs() < 1e-6, "{alone}");
        assert_eq!(uncovered_ms(&merged, &[(0.0, 9.0)]), 0.0);
        assert!(union_within(&[(0.0, 0.4)], (0.5, 1.0)).is_empty());
    }
}

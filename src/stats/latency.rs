//! A bounded response-time histogram: percentiles over any set of days without keeping samples.
//!
//! Owns the bucket layout and the percentile rule; it must never store individual samples, so
//! its size is bounded by the number of distinct buckets (at most 976), not by the call count.
//!
//! Bucket layout (HDR-style, integer only):
//! - 0..=31 ms: one bucket per millisecond, exact.
//! - 32 ms and up: each power of two `[2^e, 2^(e+1))` is split into 16 equal buckets, so a
//!   bucket `[lower, lower + width)` has `width = lower / 16` at most. A bucket is reported as
//!   its midpoint, `lower + width / 2`, whose error is at most `width / 2 / lower` = **1/32 ≈
//!   3.1 %** of the true value. Every `u64` has a bucket; nothing is clamped.
//!
//! Percentiles use the nearest-rank rule: the p-th percentile of n samples is the sample of
//! rank `ceil(p * n / 100)` in ascending order, reported as its bucket's midpoint.
//!
//! Storage is sparse: a sorted `(bucket, count)` list, so a key that sees a few dozen distinct
//! latencies a day costs a few hundred bytes.

/// Values below this are bucketed exactly.
const EXACT_LIMIT: u64 = 32;
/// log2 of the number of buckets per power of two above `EXACT_LIMIT`.
const SUB_BITS: u32 = 4;
const SUBS: u64 = 1 << SUB_BITS;
/// log2 of `EXACT_LIMIT`.
const FIRST_EXP: u32 = 5;

/// Response-time counts per log-scale bucket (see the module doc for the resolution).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// `(bucket index, count)`, sorted by bucket index, no zero counts.
    buckets: Vec<(u16, u32)>,
}

impl LatencyHistogram {
    /// Counts one response time in milliseconds.
    pub fn record(&mut self, ms: u64) {
        let bucket = bucket_of(ms);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => {
                if let Some(slot) = self.buckets.get_mut(i) {
                    slot.1 = slot.1.saturating_add(1);
                }
            }
            Err(i) => self.buckets.insert(i, (bucket, 1)),
        }
    }

    /// Adds every count of `other` to this histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.buckets.is_empty() {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets.clone_from(&other.buckets);
            return;
        }
        let mut merged = Vec::with_capacity(self.buckets.len().max(other.buckets.len()) + 8);
        let (mut a, mut b) = (
            self.buckets.iter().peekable(),
            other.buckets.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(ka, ca)), Some(&&(kb, cb))) => {
                    if ka == kb {
                        a.next();
                        b.next();
                        (ka, ca.saturating_add(cb))
                    } else if ka < kb {
                        a.next();
                        (ka, ca)
                    } else {
                        b.next();
                        (kb, cb)
                    }
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, Some(&&y)) => {
                    b.next();
                    y
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.buckets = merged;
    }

    /// Number of samples counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|&(_, c)| u64::from(c)).sum()
    }

    /// The `percent`-th percentile (nearest rank, 1..=100) as a bucket midpoint; `None` when
    /// empty. `percent` above 100 is read as 100, 0 as 1.
    pub fn percentile(&self, percent: u32) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let p = u64::from(percent.clamp(1, 100));
        let rank = (p.saturating_mul(n).div_ceil(100)).max(1);
        let mut seen = 0u64;
        for &(bucket, count) in &self.buckets {
            seen += u64::from(count);
            if seen >= rank {
                return Some(midpoint_of(bucket));
            }
        }
        self.buckets.last().map(|&(b, _)| midpoint_of(b))
    }

    /// The 95th percentile, see [`LatencyHistogram::percentile`].
    pub fn p95(&self) -> Option<u64> {
        self.percentile(95)
    }
}

/// The bucket index of a response time.
fn bucket_of(ms: u64) -> u16 {
    if ms < EXACT_LIMIT {
        return ms as u16;
    }
    let exp = 63 - ms.leading_zeros(); // >= FIRST_EXP
    let sub = (ms >> (exp - SUB_BITS)) & (SUBS - 1);
    let index = EXACT_LIMIT + u64::from(exp - FIRST_EXP) * SUBS + sub;
    index as u16 // at most 32 + 58 * 16 + 15 = 975
}

/// The value a bucket reports: exact below 32 ms, else the bucket's midpoint.
fn midpoint_of(bucket: u16) -> u64 {
    let b = u64::from(bucket);
    if b < EXACT_LIMIT {
        return b;
    }
    let exp = (b - EXACT_LIMIT) / SUBS + u64::from(FIRST_EXP);
    let sub = (b - EXACT_LIMIT) % SUBS;
    let lower = (SUBS + sub) << (exp - u64::from(SUB_BITS));
    let half_width = 1u64 << (exp - u64::from(FIRST_EXP));
    lower.saturating_add(half_width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        for ms in 0..32 {
            assert_eq!(midpoint_of(bucket_of(ms)), ms);
        }
    }

    #[test]
    fn bucket_edges_and_midpoints() {
        // [32, 34) -> 33; [64, 68) -> 66; [1024, 1088) -> 1056; [1088, 1152) -> 1120.
        let cases = [
            (32, 33),
            (33, 33),
            (34, 35),
            (63, 63),
            (64, 66),
            (67, 66),
            (1000, 1008),
            (1024, 1056),
            (1087, 1056),
            (1088, 1120),
        ];
        for (ms, mid) in cases {
            assert_eq!(midpoint_of(bucket_of(ms)), mid, "ms {ms}");
        }
        assert_eq!(bucket_of(u64::MAX), 975);
        assert_eq!(midpoint_of(975), 63 << 58);
    }

    #[test]
    fn relative_error_is_at_most_one_32nd() {
        let mut ms = 1u64;
        while ms < 1 << 40 {
            for v in [ms, ms + ms / 3, ms * 2 - 1] {
                let mid = midpoint_of(bucket_of(v));
                let err = (mid as f64 - v as f64).abs() / v as f64;
                assert!(err <= 1.0 / 32.0, "{v} -> {mid}, error {err}");
            }
            ms *= 2;
        }
    }

    #[test]
    fn p95_nearest_rank() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.p95(), None);
        for ms in 1..=20 {
            h.record(ms);
        }
        // rank ceil(0.95 * 20) = 19 -> 19 ms, exact.
        assert_eq!(h.p95(), Some(19));
        assert_eq!(h.percentile(100), Some(20));
        assert_eq!(h.percentile(50), Some(10));
        assert_eq!(h.count(), 20);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = Default::default();
        let samples_a = [5u64, 900, 1200, 40, 40, 70_000];
        let samples_b = [40u64, 3, 1200, 650, 2_000_000];
        for &ms in &samples_a {
            LatencyHistogram::record(&mut a, ms);
            LatencyHistogram::record(&mut all, ms);
        }
        for &ms in &samples_b {
            LatencyHistogram::record(&mut b, ms);
            LatencyHistogram::record(&mut all, ms);
        }
        let mut merged: LatencyHistogram = a.clone();
        merged.merge(&b);
        assert_eq!(merged, all);
        let mut empty = LatencyHistogram::default();
        empty.merge(&a);
        assert_eq!(empty, a);
        assert_eq!(merged.count(), 11);
    }
}

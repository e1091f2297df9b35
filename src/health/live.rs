//! Live speed and reliability figures of one (channel, model), fed by every call (docs/ranking.md).
//!
//! Moving averages with a fixed weight per observation (`ALPHA`), so recent calls count most
//! and nothing grows with traffic. Until a (channel, model) is observed its scores are neutral
//! (0.5). Rules decided here:
//! - speed: the mean of a time-to-first-token score (log scale, 200 ms → 1, 10 s → 0) and a
//!   tokens-per-second score (log scale, 1 tok/s → 0, 200 tok/s → 1), each only once seen;
//! - reliability: decayed success and attempt counts with a uniform prior,
//!   `(successes + 1) / (attempts + 2)`: 0.5 unobserved, 0.88 after ten straight successes.

use crate::scoring::LiveScores;

const ALPHA: f64 = 0.2;
const DECAY: f64 = 0.9;

/// Moving figures of one (channel, model).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveFigures {
    pub ttft_ms: Option<f64>,
    pub tokens_per_s: Option<f64>,
    successes: f64,
    attempts: f64,
    pub calls: u64,
    pub failures: u64,
}

fn ewma(previous: Option<f64>, sample: f64) -> f64 {
    match previous {
        Some(p) => p + ALPHA * (sample - p),
        None => sample,
    }
}

fn log_score(value: f64, zero_at: f64, one_at: f64) -> f64 {
    if !(value > 0.0 && value.is_finite()) {
        return 0.0;
    }
    ((value.ln() - zero_at.ln()) / (one_at.ln() - zero_at.ln())).clamp(0.0, 1.0)
}

impl LiveFigures {
    /// A call that succeeded, with its time to first token and output speed when known.
    pub fn record_success(&mut self, ttft_ms: Option<f64>, tokens_per_s: Option<f64>) {
        if let Some(t) = ttft_ms.filter(|t| t.is_finite() && *t >= 0.0) {
            self.ttft_ms = Some(ewma(self.ttft_ms, t));
        }
        if let Some(s) = tokens_per_s.filter(|s| s.is_finite() && *s > 0.0) {
            self.tokens_per_s = Some(ewma(self.tokens_per_s, s));
        }
        self.successes = self.successes * DECAY + 1.0;
        self.attempts = self.attempts * DECAY + 1.0;
        self.calls += 1;
    }

    /// A call that failed for a reason the upstream owns (5xx, timeout, 429...).
    pub fn record_failure(&mut self) {
        self.successes *= DECAY;
        self.attempts = self.attempts * DECAY + 1.0;
        self.calls += 1;
        self.failures += 1;
    }

    pub fn success_rate(&self) -> f64 {
        (self.successes + 1.0) / (self.attempts + 2.0)
    }

    pub fn scores(&self) -> LiveScores {
        let ttft = self.ttft_ms.map(|t| 1.0 - log_score(t, 200.0, 10_000.0));
        let tps = self.tokens_per_s.map(|s| log_score(s, 1.0, 200.0));
        let speed = match (ttft, tps) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => 0.5,
        };
        LiveScores {
            speed,
            reliability: self.success_rate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_until_observed() {
        assert_eq!(LiveFigures::default().scores(), LiveScores::NEUTRAL);
    }

    #[test]
    fn speed_from_ttft_and_throughput() {
        let mut fast = LiveFigures::default();
        fast.record_success(Some(200.0), Some(200.0));
        assert_eq!(fast.scores().speed, 1.0);
        let mut slow = LiveFigures::default();
        slow.record_success(Some(10_000.0), Some(1.0));
        assert_eq!(slow.scores().speed, 0.0);
        let mut mid = LiveFigures::default();
        mid.record_success(Some(1000.0), None);
        let expected = 1.0 - (5f64.ln() / 50f64.ln());
        assert!((mid.scores().speed - expected).abs() < 1e-12);
    }

    #[test]
    fn moving_average_weighs_recent_calls() {
        let mut f = LiveFigures::default();
        f.record_success(Some(1000.0), None);
        f.record_success(Some(2000.0), None);
        assert_eq!(f.ttft_ms, Some(1200.0));
    }

    #[test]
    fn reliability_has_a_prior_and_decays() {
        let mut f = LiveFigures::default();
        for _ in 0..10 {
            f.record_success(None, None);
        }
        let after_successes = f.success_rate();
        let decayed = (1.0 - DECAY.powi(10)) / (1.0 - DECAY);
        assert!((after_successes - (decayed + 1.0) / (decayed + 2.0)).abs() < 1e-12);
        f.record_failure();
        assert!(f.success_rate() < after_successes);
        assert_eq!(f.failures, 1);
        assert_eq!(f.calls, 11);
    }
}

//! The per-(channel, model) state machine: closed, open (cooling down), half-open, removed
//! (docs/failover.md). Pure: every method takes `now`, nothing reads a clock or does I/O.
//!
//! - A 429 opens it for `Retry-After` when given, else for the backoff; repeated 5xx, connect
//!   errors and timeouts open it after `failure_threshold` in a row. The backoff is
//!   `cooldown · 2^level`, capped at `max_cooldown`; `level` grows each time it re-opens and
//!   resets on success.
//! - A new error never shortens a cooldown: the open-until time only moves later.
//! - Errors that arrive while it is open (calls that were in flight when it opened) belong to
//!   the same episode: a 429 may push the open-until time later, but neither they nor 5xx
//!   raise `level`, so a burst of concurrent failures does not escalate the backoff.
//! - When the cooldown ends it is half-open: exactly one request may try (the first to claim
//!   the trial); success closes it, failure opens it again one level longer. A trial whose
//!   request vanished (client gone) is released after `TRIAL_TIMEOUT`.
//! - A 404 model-not-found removes the model until the channel's next discovery.
//! - With a shared state, failures counted on other instances add to the count here while it
//!   is closed (`on_remote_failure`), and their successes reset it (`on_remote_success`), so
//!   the threshold is reached by the failures of all instances together.

use std::time::Duration;

use tokio::time::Instant;

/// A claimed half-open trial is given up after this long without a result.
pub const TRIAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a (channel, model) stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakerState {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_started: Option<Instant> },
    Removed,
}

/// What a request may do with this (channel, model) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Serve normally.
    Allowed,
    /// Serve as the one half-open trial.
    Trial,
    CoolingDown {
        until: Instant,
    },
    /// Half-open, and another request holds the trial.
    TrialInProgress,
    Removed,
}

/// Circuit breaker and cooldown of one (channel, model).
#[derive(Debug, Clone, PartialEq)]
pub struct Breaker {
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub level: u32,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            state: BreakerState::Closed,
            consecutive_failures: 0,
            level: 0,
        }
    }
}

/// The backoff settings from `routing`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    pub failure_threshold: u32,
}

impl Backoff {
    fn after(&self, level: u32) -> Duration {
        let factor = 2u32.saturating_pow(level.min(20));
        self.cooldown.saturating_mul(factor).min(self.max_cooldown)
    }
}

impl Breaker {
    /// Look without claiming anything.
    pub fn peek(&self, now: Instant) -> Admission {
        match self.state {
            BreakerState::Closed => Admission::Allowed,
            BreakerState::Removed => Admission::Removed,
            BreakerState::Open { until } if now < until => Admission::CoolingDown { until },
            BreakerState::Open { .. } => Admission::Trial,
            BreakerState::HalfOpen { trial_started } => match trial_started {
                Some(started) if now < started + TRIAL_TIMEOUT => Admission::TrialInProgress,
                _ => Admission::Trial,
            },
        }
    }

    /// Claim the right to send a request now.
    pub fn admit(&mut self, now: Instant) -> Admission {
        let admission = self.peek(now);
        if admission == Admission::Trial {
            self.state = BreakerState::HalfOpen {
                trial_started: Some(now),
            };
        }
        admission
    }

    /// The upstream answered well.
    pub fn on_success(&mut self) {
        *self = Breaker::default();
    }

    /// A 429: cool down for `retry_after` when given, else the backoff.
    pub fn on_rate_limited(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
        backoff: &Backoff,
    ) {
        if let Some(until) = self.open_until(now) {
            // Same episode: the backoff of the level it opened at, never shorter.
            let wait = retry_after.unwrap_or_else(|| backoff.after(self.level.saturating_sub(1)));
            self.state = BreakerState::Open {
                until: until.max(now + wait),
            };
            return;
        }
        let wait = retry_after.unwrap_or_else(|| backoff.after(self.level));
        self.open(now, wait);
    }

    /// The end of the cooldown in force at `now`, if any.
    fn open_until(&self, now: Instant) -> Option<Instant> {
        match self.state {
            BreakerState::Open { until } if now < until => Some(until),
            _ => None,
        }
    }

    /// A 5xx, connect error or timeout: open after `failure_threshold` in a row, or at once
    /// when it failed as the half-open trial.
    pub fn on_failure(&mut self, now: Instant, backoff: &Backoff) {
        if self.open_until(now).is_some() {
            // Already cooling down: nothing new is learned (same episode).
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let trial_failed = matches!(self.state, BreakerState::HalfOpen { .. });
        if trial_failed || self.consecutive_failures >= backoff.failure_threshold {
            let wait = backoff.after(self.level);
            self.open(now, wait);
        }
    }

    /// A failure counted by another instance (shared state): it adds to the count while the
    /// breaker is closed here, and opens it at `failure_threshold` like one seen here. Open or
    /// half-open here, it says nothing new (that instance's own breaker decides its trial).
    pub fn on_remote_failure(&mut self, now: Instant, backoff: &Backoff) {
        if self.state != BreakerState::Closed {
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.consecutive_failures >= backoff.failure_threshold {
            let wait = backoff.after(self.level);
            self.open(now, wait);
        }
    }

    /// Another instance's closed breaker answered well: the count starts again here too.
    pub fn on_remote_success(&mut self) {
        if self.state == BreakerState::Closed {
            self.consecutive_failures = 0;
        }
    }

    /// A 404 for this model: gone until the next discovery.
    pub fn on_model_not_found(&mut self) {
        self.state = BreakerState::Removed;
    }

    /// Discovery ran again: a removed model may serve.
    pub fn on_rediscovered(&mut self) {
        if self.state == BreakerState::Removed {
            *self = Breaker::default();
        }
    }

    /// Release a trial whose request ended without a verdict (client gone, 400...).
    pub fn release_trial(&mut self, now: Instant) {
        if let BreakerState::HalfOpen { .. } = self.state {
            self.state = BreakerState::Open { until: now };
        }
    }

    fn open(&mut self, now: Instant, wait: Duration) {
        let until = now + wait;
        let until = match self.state {
            BreakerState::Open { until: existing } if existing > until => existing,
            _ => until,
        };
        self.state = BreakerState::Open { until };
        self.level = self.level.saturating_add(1);
        self.consecutive_failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        cooldown: Duration::from_secs(30),
        max_cooldown: Duration::from_secs(600),
        failure_threshold: 3,
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn opens_after_threshold_failures_in_a_row() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_failure(now, &BACKOFF);
        b.on_failure(now, &BACKOFF);
        assert_eq!(b.peek(now), Admission::Allowed);
        b.on_failure(now, &BACKOFF);
        assert_eq!(
            b.peek(now),
            Admission::CoolingDown {
                until: now + secs(30)
            }
        );
        assert_eq!(
            b.peek(now + secs(29)),
            Admission::CoolingDown {
                until: now + secs(30)
            }
        );
        assert_eq!(b.peek(now + secs(30)), Admission::Trial);
    }

    #[test]
    fn a_success_resets_the_count() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_failure(now, &BACKOFF);
        b.on_failure(now, &BACKOFF);
        b.on_success();
        b.on_failure(now, &BACKOFF);
        b.on_failure(now, &BACKOFF);
        assert_eq!(b.peek(now), Admission::Allowed);
    }

    #[test]
    fn half_open_admits_exactly_one_trial() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_rate_limited(now, Some(secs(10)), &BACKOFF);
        let later = now + secs(10);
        assert_eq!(b.admit(later), Admission::Trial);
        assert_eq!(b.admit(later), Admission::TrialInProgress);
        assert_eq!(b.admit(later + secs(1)), Admission::TrialInProgress);
        b.on_success();
        assert_eq!(b.admit(later + secs(1)), Admission::Allowed);
    }

    #[test]
    fn a_failed_trial_reopens_for_longer() {
        let now = Instant::now();
        let mut b = Breaker::default();
        for _ in 0..3 {
            b.on_failure(now, &BACKOFF);
        }
        let t1 = now + secs(30);
        assert_eq!(b.admit(t1), Admission::Trial);
        b.on_failure(t1, &BACKOFF);
        assert_eq!(
            b.peek(t1),
            Admission::CoolingDown {
                until: t1 + secs(60)
            }
        );
        let t2 = t1 + secs(60);
        assert_eq!(b.admit(t2), Admission::Trial);
        b.on_failure(t2, &BACKOFF);
        assert_eq!(
            b.peek(t2),
            Admission::CoolingDown {
                until: t2 + secs(120)
            }
        );
    }

    #[test]
    fn backoff_is_capped() {
        let now = Instant::now();
        let mut b = Breaker {
            level: 10,
            ..Breaker::default()
        };
        b.on_rate_limited(now, None, &BACKOFF);
        assert_eq!(
            b.peek(now),
            Admission::CoolingDown {
                until: now + secs(600)
            }
        );
    }

    #[test]
    fn a_new_error_never_shortens_a_cooldown() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_rate_limited(now, Some(secs(120)), &BACKOFF);
        b.on_rate_limited(now + secs(1), Some(secs(5)), &BACKOFF);
        assert_eq!(
            b.peek(now + secs(10)),
            Admission::CoolingDown {
                until: now + secs(120)
            }
        );
        b.on_rate_limited(now + secs(2), Some(secs(300)), &BACKOFF);
        assert_eq!(
            b.peek(now + secs(10)),
            Admission::CoolingDown {
                until: now + secs(302)
            }
        );
    }

    #[test]
    fn errors_of_calls_in_flight_when_it_opened_do_not_escalate() {
        let now = Instant::now();
        let mut b = Breaker::default();
        for _ in 0..3 {
            b.on_failure(now, &BACKOFF);
        }
        // Seven more failures and 429s of the same burst.
        for _ in 0..7 {
            b.on_failure(now + secs(1), &BACKOFF);
            b.on_rate_limited(now + secs(1), None, &BACKOFF);
        }
        assert_eq!(b.level, 1);
        assert_eq!(
            b.peek(now + secs(1)),
            Admission::CoolingDown {
                until: now + secs(31)
            }
        );
        // The trial fails: the next cooldown is one level longer, not seven.
        assert_eq!(b.admit(now + secs(31)), Admission::Trial);
        b.on_failure(now + secs(31), &BACKOFF);
        assert_eq!(
            b.peek(now + secs(31)),
            Admission::CoolingDown {
                until: now + secs(91)
            }
        );
    }

    #[test]
    fn a_burst_of_429s_without_retry_after_cools_down_once() {
        let now = Instant::now();
        let mut b = Breaker::default();
        for _ in 0..10 {
            b.on_rate_limited(now, None, &BACKOFF);
        }
        assert_eq!(b.level, 1);
        assert_eq!(
            b.peek(now),
            Admission::CoolingDown {
                until: now + secs(30)
            }
        );
    }

    #[test]
    fn failures_counted_elsewhere_add_up_to_the_threshold() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_remote_failure(now, &BACKOFF);
        b.on_failure(now, &BACKOFF);
        assert_eq!(b.peek(now), Admission::Allowed);
        b.on_remote_failure(now, &BACKOFF);
        assert_eq!(
            b.peek(now),
            Admission::CoolingDown {
                until: now + secs(30)
            }
        );
        assert_eq!((b.level, b.consecutive_failures), (1, 0));
        // Open here: a failure of that burst elsewhere changes nothing.
        b.on_remote_failure(now + secs(1), &BACKOFF);
        assert_eq!((b.level, b.consecutive_failures), (1, 0));

        let mut reset = Breaker::default();
        reset.on_failure(now, &BACKOFF);
        reset.on_remote_failure(now, &BACKOFF);
        reset.on_remote_success();
        reset.on_remote_failure(now, &BACKOFF);
        reset.on_failure(now, &BACKOFF);
        assert_eq!(reset.peek(now), Admission::Allowed);
        assert_eq!(reset.consecutive_failures, 2);
    }

    #[test]
    fn a_stale_trial_is_given_up_and_removed_models_return_on_discovery() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.on_rate_limited(now, Some(secs(1)), &BACKOFF);
        assert_eq!(b.admit(now + secs(1)), Admission::Trial);
        assert_eq!(b.admit(now + secs(2)), Admission::TrialInProgress);
        assert_eq!(b.admit(now + secs(1) + TRIAL_TIMEOUT), Admission::Trial);

        let mut gone = Breaker::default();
        gone.on_model_not_found();
        assert_eq!(gone.peek(now), Admission::Removed);
        gone.on_rediscovered();
        assert_eq!(gone.peek(now), Admission::Allowed);
    }
}

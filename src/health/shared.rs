//! Health as other instances need to hear it: the events that change what a candidate may do
//! (a channel blacklisted or cleared, a (channel, model) opened for a cooldown, closed again,
//! removed), sent to an optional outbox when they happen here, and applied to this instance's
//! state when they happen elsewhere.
//!
//! Only transitions travel, never each call: a success on a closed breaker with nothing
//! counted sends nothing. The breaker's count travels too (each counted failure, and the
//! success that resets it), so the failures of all instances together reach
//! `failure_threshold`; every instance applies the same count and opens at the same failure.
//! Times travel as "for N ms from now", so instances need no shared clock. An applied event
//! is never sent out again. Nothing here does I/O (the shared state does).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{lock, Backoff, Blacklist, BlacklistReason, BreakerState, ChannelHealth};

/// A health transition, as it travels between instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthEvent {
    Blacklisted {
        channel: String,
        /// `invalid_api_key` or `quota_exhausted`.
        reason: String,
        for_ms: u64,
        /// Fingerprint of the key it was earned with (never the key).
        fingerprint: u64,
        message: String,
    },
    BlacklistCleared {
        channel: String,
    },
    /// A (channel, model) cools down (429, or its breaker opened).
    Opened {
        key: String,
        for_ms: u64,
    },
    /// A (channel, model) answered well again (its trial succeeded).
    Closed {
        key: String,
    },
    /// A (channel, model) answered "model not found".
    Removed {
        key: String,
    },
    /// A 5xx, connection error or timeout of a closed (channel, model) that did not open its
    /// breaker: it counts toward the threshold on every instance.
    FailureCounted {
        key: String,
    },
    /// A closed (channel, model) with counted failures answered well: the count starts again.
    FailuresReset {
        key: String,
    },
}

pub(super) type Outbox = Box<dyn Fn(HealthEvent) + Send + Sync>;

fn reason_of(text: &str) -> BlacklistReason {
    if text == BlacklistReason::QuotaExhausted.as_str() {
        BlacklistReason::QuotaExhausted
    } else {
        BlacklistReason::InvalidKey
    }
}

impl ChannelHealth {
    /// Where transitions made here go (set once, by the shared state).
    pub fn set_outbox(&self, outbox: Outbox) {
        let _ = self.outbox.set(outbox);
    }

    pub(super) fn emit(&self, event: impl FnOnce() -> HealthEvent) {
        if let Some(outbox) = self.outbox.get() {
            outbox(event());
        }
    }

    /// Send `Opened` when the breaker of `key` is open past `now` and was not before (or
    /// now opens longer).
    pub(super) fn emit_if_opened(
        &self,
        key: &str,
        before: BreakerState,
        after: BreakerState,
        now: Instant,
    ) {
        if let BreakerState::Open { until } = after {
            if until > now && before != after {
                let for_ms = until.saturating_duration_since(now).as_millis() as u64;
                self.emit(|| HealthEvent::Opened {
                    key: key.to_string(),
                    for_ms,
                });
            }
        }
    }

    /// A transition made by another instance (`backoff`: this instance's routing settings,
    /// for a count that reaches the threshold here).
    pub fn apply(&self, event: &HealthEvent, backoff: &Backoff, now: Instant) {
        match event {
            HealthEvent::Blacklisted {
                channel,
                reason,
                for_ms,
                fingerprint,
                message,
            } => {
                let until = now + Duration::from_millis(*for_ms);
                let longer = self
                    .blacklists
                    .get(channel.as_str())
                    .is_none_or(|b| b.until < until);
                if longer {
                    let entry = Blacklist {
                        reason: reason_of(reason),
                        until,
                        key_fingerprint: *fingerprint,
                        message: message.clone(),
                    };
                    self.blacklists.insert(channel.clone(), Arc::new(entry));
                }
            }
            HealthEvent::BlacklistCleared { channel } => {
                self.blacklists.invalidate(channel.as_str())
            }
            HealthEvent::Opened { key, for_ms } => {
                let until = now + Duration::from_millis(*for_ms);
                let state = self.model_or_insert(&Arc::from(key.as_str()));
                let mut state = lock(&state);
                state.breaker.state = match state.breaker.state {
                    BreakerState::Open { until: mine } if mine > until => {
                        BreakerState::Open { until: mine }
                    }
                    BreakerState::Removed => BreakerState::Removed,
                    _ => BreakerState::Open { until },
                };
                if let BreakerState::Open { .. } = state.breaker.state {
                    state.breaker.consecutive_failures = 0;
                }
            }
            HealthEvent::FailureCounted { key } => {
                let state = self.model_or_insert(&Arc::from(key.as_str()));
                lock(&state).breaker.on_remote_failure(now, backoff);
            }
            HealthEvent::FailuresReset { key } => {
                if let Some(state) = self.model(key) {
                    lock(&state).breaker.on_remote_success();
                }
            }
            HealthEvent::Closed { key } => {
                if let Some(state) = self.model(key) {
                    lock(&state).breaker.on_success();
                }
            }
            HealthEvent::Removed { key } => {
                let state = self.model_or_insert(&Arc::from(key.as_str()));
                lock(&state).breaker.on_model_not_found();
            }
        }
    }

    /// Every blacklist and cooldown in force, as events (sent again when an instance joins
    /// or the shared state comes back).
    pub fn active_events(&self, now: Instant) -> Vec<HealthEvent> {
        let mut events = Vec::new();
        for (channel, b) in self.blacklists.iter() {
            if b.until > now {
                events.push(HealthEvent::Blacklisted {
                    channel: channel.to_string(),
                    reason: b.reason.as_str().to_string(),
                    for_ms: b.until.saturating_duration_since(now).as_millis() as u64,
                    fingerprint: b.key_fingerprint,
                    message: b.message.clone(),
                });
            }
        }
        for (key, state) in self.models.iter() {
            match lock(&state).breaker.state {
                BreakerState::Open { until } if until > now => events.push(HealthEvent::Opened {
                    key: key.to_string(),
                    for_ms: until.saturating_duration_since(now).as_millis() as u64,
                }),
                BreakerState::Removed => events.push(HealthEvent::Removed {
                    key: key.to_string(),
                }),
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Admission;
    use std::sync::Mutex;

    #[test]
    fn transitions_go_out_once_and_apply_elsewhere() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let here = ChannelHealth::new();
        let sink = sent.clone();
        here.set_outbox(Box::new(move |e| sink.lock().expect("lock").push(e)));
        let key: Arc<str> = Arc::from("groq/llama");
        let backoff = Backoff {
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(60),
            failure_threshold: 2,
        };
        let now = Instant::now();
        here.record_success(&key, Some(100.0), None);
        assert!(sent.lock().expect("lock").is_empty(), "nothing changed yet");
        here.record_failure(&key, &backoff, "HTTP 500".into(), now);
        let counted = HealthEvent::FailureCounted {
            key: "groq/llama".into(),
        };
        assert_eq!(
            sent.lock().expect("lock").drain(..).collect::<Vec<_>>(),
            [counted]
        );
        here.record_failure(&key, &backoff, "HTTP 500".into(), now);
        here.record_rate_limited(
            &key,
            Some(Duration::from_secs(5)),
            &backoff,
            "429".into(),
            now,
        );
        let events = sent.lock().expect("lock").clone();
        assert_eq!(
            events,
            vec![HealthEvent::Opened {
                key: "groq/llama".into(),
                for_ms: 10_000
            }]
        );

        let there = ChannelHealth::new();
        there.apply(&events[0], &backoff, now);
        let view = there.model_state("groq/llama").expect("state");
        assert_eq!(
            view.breaker.state,
            BreakerState::Open {
                until: now + Duration::from_secs(10)
            }
        );
        assert_eq!(there.active_events(now), events);

        let later = now + Duration::from_secs(11);
        here.record_success(&key, Some(100.0), None);
        let last = sent.lock().expect("lock").last().cloned().expect("closed");
        assert_eq!(
            last,
            HealthEvent::Closed {
                key: "groq/llama".into()
            }
        );
        there.apply(&last, &backoff, later);
        assert_eq!(
            there.model_state("groq/llama").map(|v| v.breaker.state),
            Some(BreakerState::Closed)
        );
    }

    /// Two instances exchanging their events: failures seen on either add up to the
    /// threshold on both, and a success on either starts the count again.
    #[test]
    fn failures_on_two_instances_add_up_to_the_threshold() {
        let backoff = Backoff {
            cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(600),
            failure_threshold: 3,
        };
        let (a, b) = (ChannelHealth::new(), ChannelHealth::new());
        let (to_b, to_a) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let sink = to_b.clone();
        a.set_outbox(Box::new(move |e| sink.lock().expect("lock").push(e)));
        let sink = to_a.clone();
        b.set_outbox(Box::new(move |e| sink.lock().expect("lock").push(e)));
        let deliver = |queue: &Arc<Mutex<Vec<HealthEvent>>>, to: &ChannelHealth, now| {
            for event in queue.lock().expect("lock").drain(..) {
                to.apply(&event, &backoff, now);
            }
        };
        let key: Arc<str> = Arc::from("groq/llama");
        let now = Instant::now();
        let admission = |on: &ChannelHealth| on.model_state(&key).map(|v| v.breaker.peek(now));
        let fail = |on: &ChannelHealth| on.record_failure(&key, &backoff, "HTTP 500".into(), now);

        // Two failures on A, a success on A: the count starts again on both.
        fail(&a);
        fail(&a);
        deliver(&to_b, &b, now);
        a.record_success(&key, None, None);
        deliver(&to_b, &b, now);
        fail(&b);
        deliver(&to_a, &a, now);
        assert_eq!(admission(&a), Some(Admission::Allowed));
        assert_eq!(admission(&b), Some(Admission::Allowed));

        // One more on A, one on B: three since the success, so both are open.
        fail(&a);
        deliver(&to_b, &b, now);
        fail(&b);
        let cooling = Some(Admission::CoolingDown {
            until: now + Duration::from_secs(30),
        });
        assert_eq!(admission(&b), cooling);
        deliver(&to_a, &a, now);
        assert_eq!(admission(&a), cooling);
    }
}

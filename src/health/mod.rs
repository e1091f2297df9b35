//! Channel health: blacklists, cooldowns, circuit breakers and live figures (docs/ranking.md-7).
//!
//! Lives outside the config/catalog snapshot, so it survives reloads. Two moka caches bound its
//! memory: channel blacklists (per-entry expiry = the blacklist's length) and per-(channel,
//! model) state (idle entries expire after a day). Correctness never depends on moka's clock:
//! every deadline is a `tokio::time::Instant` checked on read, so tests run under paused time.
//! Keys are the catalog entry's precomputed `health_key` (`channel_id/model_id`), looked up by
//! `&str` without allocating.
//!
//! Ranking reads the live scores of every candidate (hundreds for a broad `tag:` query), so
//! they are also published to a plain map (the live board) written after each call and read
//! under one lock per ranking: a moka lookup per candidate cost 40% of ranking 880 candidates.
//! An entry leaves the board when moka drops its state.
//!
//! A 401/403 blacklist is tied to the key it was earned with: when the channel's key changes on
//! reload, the blacklist no longer applies. Nothing here does I/O; alerts are returned to the
//! caller, which writes them.

pub mod breaker;
pub mod live;
pub mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use moka::sync::Cache;
use tokio::time::Instant;

pub use breaker::{Admission, Backoff, Breaker, BreakerState};
pub use live::LiveFigures;

use crate::config::{Channel, RoutingConfig};
use crate::scoring::LiveScores;

/// Why a channel is blacklisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlacklistReason {
    InvalidKey,
    QuotaExhausted,
}

impl BlacklistReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BlacklistReason::InvalidKey => "invalid_api_key",
            BlacklistReason::QuotaExhausted => "quota_exhausted",
        }
    }
}

/// A channel-wide blacklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Blacklist {
    pub reason: BlacklistReason,
    pub until: Instant,
    /// Fingerprint of the key it was earned with (never the key itself).
    key_fingerprint: u64,
    pub message: String,
}

/// The health state of one (channel, model).
#[derive(Debug, Default)]
pub struct ModelHealth {
    pub breaker: Breaker,
    pub live: LiveFigures,
    pub last_error: Option<(Instant, String)>,
}

/// A copy of one (channel, model)'s state.
#[derive(Debug, Clone)]
pub struct ModelHealthView {
    pub breaker: Breaker,
    pub live: LiveFigures,
    pub last_error: Option<(Instant, String)>,
}

/// Whether a candidate may be tried now.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    Available,
    /// The one half-open trial of a recovering (channel, model).
    Trial,
    Blacklisted {
        reason: BlacklistReason,
        until: Instant,
    },
    CoolingDown {
        until: Instant,
    },
    TrialInProgress,
    Removed,
}

impl Availability {
    pub fn is_usable(&self) -> bool {
        matches!(self, Availability::Available | Availability::Trial)
    }
}

/// Health of every channel and (channel, model).
pub struct ChannelHealth {
    blacklists: Cache<String, Arc<Blacklist>>,
    models: Cache<Arc<str>, Arc<Mutex<ModelHealth>>>,
    live_board: Arc<RwLock<ScoreMap>>,
    /// Where transitions go for other instances (`shared`); unset: they stay here.
    outbox: std::sync::OnceLock<shared::Outbox>,
}

type ScoreMap = HashMap<Arc<str>, LiveScores>;

/// A read view of the live scores, held for one ranking.
pub struct LiveBoard<'a>(RwLockReadGuard<'a, ScoreMap>);

impl LiveBoard<'_> {
    /// The live scores of a (channel, model); neutral when unobserved.
    pub fn scores(&self, health_key: &str) -> LiveScores {
        self.0
            .get(health_key)
            .copied()
            .unwrap_or(LiveScores::NEUTRAL)
    }
}

impl std::fmt::Debug for ChannelHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHealth")
            .field("blacklists", &self.blacklists.entry_count())
            .field("models", &self.models.entry_count())
            .finish()
    }
}

struct BlacklistExpiry;

impl moka::Expiry<String, Arc<Blacklist>> for BlacklistExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Blacklist>,
        _now: std::time::Instant,
    ) -> Option<Duration> {
        // Kept a little past its deadline; the deadline itself is checked on read.
        Some(value.until.saturating_duration_since(Instant::now()) + Duration::from_secs(60))
    }
}

fn fingerprint(channel: &Channel) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    channel
        .api_key
        .as_ref()
        .map(|k| k.expose())
        .hash(&mut hasher);
    hasher.finish()
}

fn write_board(board: &RwLock<ScoreMap>) -> std::sync::RwLockWriteGuard<'_, ScoreMap> {
    board
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock(mutex: &Mutex<ModelHealth>) -> std::sync::MutexGuard<'_, ModelHealth> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The backoff settings of a routing config.
pub fn backoff_of(routing: &RoutingConfig) -> Backoff {
    Backoff {
        cooldown: routing.cooldown,
        max_cooldown: routing.max_cooldown,
        failure_threshold: routing.failure_threshold,
    }
}

impl Default for ChannelHealth {
    fn default() -> Self {
        Self::new()
    }
}

impl ChannelHealth {
    pub fn new() -> Self {
        let live_board: Arc<RwLock<ScoreMap>> = Arc::default();
        let board = live_board.clone();
        Self {
            blacklists: Cache::builder()
                .max_capacity(10_000)
                .expire_after(BlacklistExpiry)
                .build(),
            models: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .eviction_listener(move |key: Arc<Arc<str>>, _, cause| {
                    if cause != moka::notification::RemovalCause::Replaced {
                        write_board(&board).remove(&**key);
                    }
                })
                .build(),
            live_board,
            outbox: std::sync::OnceLock::new(),
        }
    }

    /// The live scores, for ranking many candidates under one lock. Do not record calls
    /// while holding it.
    pub fn live_board(&self) -> LiveBoard<'_> {
        LiveBoard(
            self.live_board
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Publish the live scores of `key` (called with its state locked, so publications of
    /// one key happen in the order of its calls).
    fn publish(&self, key: &Arc<str>, live: &LiveFigures) {
        write_board(&self.live_board).insert(key.clone(), live.scores());
    }

    /// The channel's blacklist in force now, if any.
    pub fn blacklist(&self, channel: &Channel, now: Instant) -> Option<Arc<Blacklist>> {
        let entry = self.blacklists.get(channel.id.as_str())?;
        let same_key = entry.reason != BlacklistReason::InvalidKey
            || entry.key_fingerprint == fingerprint(channel);
        (now < entry.until && same_key).then_some(entry)
    }

    /// Blacklist a channel (all its models) until `now + length`. A longer blacklist in force
    /// is kept.
    pub fn blacklist_channel(
        &self,
        channel: &Channel,
        reason: BlacklistReason,
        length: Duration,
        message: String,
        now: Instant,
    ) {
        let until = now + length;
        if let Some(existing) = self.blacklist(channel, now) {
            if existing.until >= until {
                return;
            }
        }
        let entry = Blacklist {
            reason,
            until,
            key_fingerprint: fingerprint(channel),
            message,
        };
        self.emit(|| shared::HealthEvent::Blacklisted {
            channel: channel.id.clone(),
            reason: reason.as_str().to_string(),
            for_ms: length.as_millis() as u64,
            fingerprint: entry.key_fingerprint,
            message: entry.message.clone(),
        });
        self.blacklists.insert(channel.id.clone(), Arc::new(entry));
    }

    /// Lift a channel's blacklist (admin action or a good response).
    pub fn clear_blacklist(&self, channel_id: &str) {
        self.blacklists.invalidate(channel_id);
        self.emit(|| shared::HealthEvent::BlacklistCleared {
            channel: channel_id.to_string(),
        });
    }

    /// Lift a channel's blacklist and the cooldown of each of its models (an admin action
    /// from the Channels page): its next call is tried at once. Live figures are kept.
    pub fn lift(&self, channel_id: &str) {
        self.clear_blacklist(channel_id);
        let prefix = format!("{channel_id}/");
        for (key, state) in self.models.iter() {
            if key.starts_with(&prefix) {
                lock(&state).breaker = Breaker::default();
            }
        }
    }

    fn model(&self, key: &str) -> Option<Arc<Mutex<ModelHealth>>> {
        self.models.get(key)
    }

    fn model_or_insert(&self, key: &Arc<str>) -> Arc<Mutex<ModelHealth>> {
        self.models
            .get_with_by_ref(key, || Arc::new(Mutex::new(ModelHealth::default())))
    }

    /// Look at a candidate without claiming a trial (for explain and skipping).
    pub fn peek(&self, channel: &Channel, health_key: &str, now: Instant) -> Availability {
        self.availability(channel, health_key, now, |b, now| b.peek(now))
    }

    /// Claim the right to try a candidate now (takes the half-open trial when it is due).
    pub fn admit(&self, channel: &Channel, health_key: &str, now: Instant) -> Availability {
        self.availability(channel, health_key, now, |b, now| b.admit(now))
    }

    fn availability<B>(
        &self,
        channel: &Channel,
        health_key: &str,
        now: Instant,
        ask: B,
    ) -> Availability
    where
        B: FnOnce(&mut Breaker, Instant) -> Admission,
    {
        if let Some(b) = self.blacklist(channel, now) {
            return Availability::Blacklisted {
                reason: b.reason,
                until: b.until,
            };
        }
        match self.model(health_key) {
            None => Availability::Available,
            Some(state) => to_availability(ask(&mut lock(&state).breaker, now)),
        }
    }

    /// A successful call, with its time to first token and output speed.
    pub fn record_success(
        &self,
        health_key: &Arc<str>,
        ttft_ms: Option<f64>,
        tokens_per_s: Option<f64>,
    ) {
        let state = self.model_or_insert(health_key);
        let mut state = lock(&state);
        if state.breaker.state != BreakerState::Closed {
            self.emit(|| shared::HealthEvent::Closed {
                key: health_key.to_string(),
            });
        } else if state.breaker.consecutive_failures > 0 {
            self.emit(|| shared::HealthEvent::FailuresReset {
                key: health_key.to_string(),
            });
        }
        state.breaker.on_success();
        state.live.record_success(ttft_ms, tokens_per_s);
        self.publish(health_key, &state.live);
    }

    /// A 429: cool the (channel, model) down.
    pub fn record_rate_limited(
        &self,
        health_key: &Arc<str>,
        retry_after: Option<Duration>,
        backoff: &Backoff,
        message: String,
        now: Instant,
    ) {
        let state = self.model_or_insert(health_key);
        let mut state = lock(&state);
        let before = state.breaker.state;
        state.breaker.on_rate_limited(now, retry_after, backoff);
        self.emit_if_opened(health_key, before, state.breaker.state, now);
        state.live.record_failure();
        self.publish(health_key, &state.live);
        state.last_error = Some((now, message));
    }

    /// A 5xx, connect error or timeout.
    pub fn record_failure(
        &self,
        health_key: &Arc<str>,
        backoff: &Backoff,
        message: String,
        now: Instant,
    ) {
        let state = self.model_or_insert(health_key);
        let mut state = lock(&state);
        let (before, counted) = (state.breaker.state, state.breaker.consecutive_failures);
        state.breaker.on_failure(now, backoff);
        self.emit_if_opened(health_key, before, state.breaker.state, now);
        if state.breaker.consecutive_failures > counted {
            self.emit(|| shared::HealthEvent::FailureCounted {
                key: health_key.to_string(),
            });
        }
        state.live.record_failure();
        self.publish(health_key, &state.live);
        state.last_error = Some((now, message));
    }

    /// A 404 for this model: skip it until the channel is discovered again.
    pub fn record_model_not_found(&self, health_key: &Arc<str>, message: String, now: Instant) {
        let state = self.model_or_insert(health_key);
        let mut state = lock(&state);
        if state.breaker.state != BreakerState::Removed {
            self.emit(|| shared::HealthEvent::Removed {
                key: health_key.to_string(),
            });
        }
        state.breaker.on_model_not_found();
        state.last_error = Some((now, message));
    }

    /// A trial that ended without a verdict (client gone, request error): let another try.
    pub fn release_trial(&self, health_key: &str, now: Instant) {
        if let Some(state) = self.model(health_key) {
            lock(&state).breaker.release_trial(now);
        }
    }

    /// A channel was discovered again: its removed models may serve.
    pub fn rediscovered(&self, channel_id: &str) {
        let prefix = format!("{channel_id}/");
        for (key, state) in self.models.iter() {
            if key.starts_with(&prefix) {
                lock(&state).breaker.on_rediscovered();
            }
        }
    }

    /// Live speed and reliability scores (neutral when unobserved).
    pub fn live_scores(&self, health_key: &str) -> LiveScores {
        self.live_board().scores(health_key)
    }

    /// A copy of the state of one (channel, model), for status pages.
    pub fn model_state(&self, health_key: &str) -> Option<ModelHealthView> {
        let state = self.model(health_key)?;
        let state = lock(&state);
        Some(ModelHealthView {
            breaker: state.breaker.clone(),
            live: state.live,
            last_error: state.last_error.clone(),
        })
    }
}

fn to_availability(admission: Admission) -> Availability {
    match admission {
        Admission::Allowed => Availability::Available,
        Admission::Trial => Availability::Trial,
        Admission::CoolingDown { until } => Availability::CoolingDown { until },
        Admission::TrialInProgress => Availability::TrialInProgress,
        Admission::Removed => Availability::Removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Arc<str> {
        Arc::from(text)
    }

    #[test]
    fn the_live_board_follows_every_call_and_is_neutral_until_observed() {
        let health = ChannelHealth::new();
        let fast = key("a/fast");
        let flaky = key("b/flaky");
        assert_eq!(health.live_board().scores("a/fast"), LiveScores::NEUTRAL);

        let mut expected_fast = LiveFigures::default();
        for _ in 0..3 {
            health.record_success(&fast, Some(200.0), Some(200.0));
            expected_fast.record_success(Some(200.0), Some(200.0));
        }
        let backoff = Backoff {
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(60),
            failure_threshold: 3,
        };
        let now = Instant::now();
        let mut expected_flaky = LiveFigures::default();
        health.record_success(&flaky, Some(9000.0), None);
        expected_flaky.record_success(Some(9000.0), None);
        health.record_failure(&flaky, &backoff, "HTTP 500".into(), now);
        expected_flaky.record_failure();
        health.record_rate_limited(&flaky, None, &backoff, "HTTP 429".into(), now);
        expected_flaky.record_failure();

        let board = health.live_board();
        assert_eq!(board.scores("a/fast"), expected_fast.scores());
        assert_eq!(board.scores("b/flaky"), expected_flaky.scores());
        assert_eq!(board.scores("c/never-called"), LiveScores::NEUTRAL);
        drop(board);
        // The one-off lookup reads the same board.
        assert_eq!(health.live_scores("b/flaky"), expected_flaky.scores());
        // A fast, reliable model scores above a slow, failing one.
        let (f, s) = (expected_fast.scores(), expected_flaky.scores());
        assert!(
            f.speed > s.speed && f.reliability > s.reliability,
            "{f:?} {s:?}"
        );
    }
}

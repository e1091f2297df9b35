//! Rate limits known before the refusal: fixed windows per scope (a channel, a (channel,
//! model), a client key) counting requests per minute and per day, tokens per minute and
//! requests in flight, plus what the upstream's own `x-ratelimit-*` headers said.
//!
//! Windows are aligned to the UTC clock (the minute, the day), so every instance counts the
//! same window and a refusal can say exactly when it ends. Scopes are counted only when they
//! have a limit. A scope whose upstream said "0 remaining" is full until the reset it named.
//!
//! Pure bookkeeping: every method takes `now` (milliseconds since the Unix epoch), nothing
//! here does I/O. Counts made here are handed to an optional outbox (the shared state
//! publishes them to other instances); counts from other instances come back through
//! [`RateWindows::apply_remote`] and are never sent out again.

pub mod candidate;
pub mod client_key;
pub mod headers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::config::RateLimits;

pub use client_key::ClientKey;

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

/// Which limit a full window hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Rpm,
    Rpd,
    Tpm,
    Concurrency,
    /// The upstream said none remain until its reset.
    Exhausted,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Rpm => "rpm",
            LimitKind::Rpd => "rpd",
            LimitKind::Tpm => "tpm",
            LimitKind::Concurrency => "concurrency",
            LimitKind::Exhausted => "upstream limit (x-ratelimit-remaining 0)",
        }
    }
}

/// A window that cannot take one more request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub kind: LimitKind,
    /// The limit's value (0 for a learned one).
    pub limit: u64,
    /// Until the window (or the upstream's reset) ends; zero for concurrency.
    pub retry_after: Duration,
}

impl Full {
    /// `rpm limit of 20 reached; the window resets in 12s`.
    pub fn describe(&self) -> String {
        let secs = self.retry_after.as_secs_f64().ceil() as u64;
        match self.kind {
            LimitKind::Concurrency => format!("concurrency limit of {} reached", self.limit),
            LimitKind::Exhausted => format!("upstream rate limit exhausted for {secs}s more"),
            kind => format!(
                "{} limit of {} reached; the window resets in {secs}s",
                kind.as_str(),
                self.limit
            ),
        }
    }
}

/// A count made here, for other instances.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowEvent {
    Counted {
        scope: String,
        at_ms: u64,
        requests: u32,
        tokens: u64,
    },
    Exhausted {
        scope: String,
        until_ms: u64,
    },
}

type Outbox = Box<dyn Fn(WindowEvent) + Send + Sync>;

#[derive(Debug, Default, Clone, Copy)]
struct Scope {
    minute: u64,
    minute_requests: u32,
    minute_tokens: u64,
    day: u64,
    day_requests: u32,
    in_flight: u32,
    exhausted_until_ms: u64,
}

impl Scope {
    /// Move the windows to `now`.
    fn roll(&mut self, now_ms: u64) {
        let (minute, day) = (now_ms / MINUTE_MS, now_ms / DAY_MS);
        if minute != self.minute {
            self.minute = minute;
            self.minute_requests = 0;
            self.minute_tokens = 0;
        }
        if day != self.day {
            self.day = day;
            self.day_requests = 0;
        }
    }

    fn check(&self, limits: &RateLimits, now_ms: u64) -> Result<(), Full> {
        let to_minute_end = Duration::from_millis(MINUTE_MS - now_ms % MINUTE_MS);
        let to_day_end = Duration::from_millis(DAY_MS - now_ms % DAY_MS);
        if self.exhausted_until_ms > now_ms {
            return Err(Full {
                kind: LimitKind::Exhausted,
                limit: 0,
                retry_after: Duration::from_millis(self.exhausted_until_ms - now_ms),
            });
        }
        let over = |count: u64, limit: Option<u64>| limit.filter(|l| count >= *l);
        if let Some(limit) = over(self.in_flight.into(), limits.concurrency.map(u64::from)) {
            return Err(Full {
                kind: LimitKind::Concurrency,
                limit,
                retry_after: Duration::ZERO,
            });
        }
        if let Some(limit) = over(self.minute_requests.into(), limits.rpm.map(u64::from)) {
            return Err(full(LimitKind::Rpm, limit, to_minute_end));
        }
        if let Some(limit) = over(self.minute_tokens, limits.tpm) {
            return Err(full(LimitKind::Tpm, limit, to_minute_end));
        }
        if let Some(limit) = over(self.day_requests.into(), limits.rpd.map(u64::from)) {
            return Err(full(LimitKind::Rpd, limit, to_day_end));
        }
        Ok(())
    }

    fn count(&mut self, requests: u32, tokens: u64) {
        self.minute_requests = self.minute_requests.saturating_add(requests);
        self.day_requests = self.day_requests.saturating_add(requests);
        self.minute_tokens = self.minute_tokens.saturating_add(tokens);
    }
}

fn full(kind: LimitKind, limit: u64, retry_after: Duration) -> Full {
    Full {
        kind,
        limit,
        retry_after,
    }
}

/// Every counted scope.
#[derive(Default)]
pub struct RateWindows {
    scopes: Mutex<HashMap<Arc<str>, Scope>>,
    outbox: OnceLock<Outbox>,
}

impl std::fmt::Debug for RateWindows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateWindows").finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl RateWindows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where counts made here go (set once, by the shared state).
    pub fn set_outbox(&self, outbox: Outbox) {
        let _ = self.outbox.set(outbox);
    }

    fn send(&self, event: WindowEvent) {
        if let Some(outbox) = self.outbox.get() {
            outbox(event);
        }
    }

    fn with_scope<T>(&self, scope: &str, now_ms: u64, f: impl FnOnce(&mut Scope) -> T) -> T {
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = scopes.get_mut(scope) {
            state.roll(now_ms);
            return f(state);
        }
        let mut state = Scope::default();
        state.roll(now_ms);
        let result = f(&mut state);
        scopes.insert(Arc::from(scope), state);
        result
    }

    /// Whether `scope` could take one more request now, without counting it.
    pub fn peek(&self, scope: &str, limits: &RateLimits, now_ms: u64) -> Result<(), Full> {
        let scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = scopes.get(scope) else {
            return Ok(());
        };
        let mut state = *state;
        state.roll(now_ms);
        state.check(limits, now_ms)
    }

    /// Count one request on every scope of `scopes` (each with its limits), or on none when
    /// one of them is full. Scopes without a limit and nothing learned are not counted.
    pub fn admit(&self, scopes: &[(&str, &RateLimits)], now_ms: u64) -> Result<(), Full> {
        let mut counted: Vec<&str> = Vec::with_capacity(scopes.len());
        {
            let mut all = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
            for (scope, limits) in scopes {
                if let Some(state) = all.get_mut(*scope) {
                    state.roll(now_ms);
                    state.check(limits, now_ms)?;
                }
            }
            for (scope, limits) in scopes {
                if limits.is_unlimited() && !all.contains_key(*scope) {
                    continue;
                }
                let state = match all.get_mut(*scope) {
                    Some(state) => state,
                    None => all.entry(Arc::from(*scope)).or_default(),
                };
                state.roll(now_ms);
                state.count(1, 0);
                if limits.concurrency.is_some() {
                    state.in_flight += 1;
                }
                counted.push(scope);
            }
        }
        for scope in counted {
            self.send(WindowEvent::Counted {
                scope: scope.to_string(),
                at_ms: now_ms,
                requests: 1,
                tokens: 0,
            });
        }
        Ok(())
    }

    /// A request admitted with a concurrency limit ended.
    pub fn release(&self, scopes: &[(&str, &RateLimits)]) {
        let mut all = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        for (scope, limits) in scopes {
            if limits.concurrency.is_some() {
                if let Some(state) = all.get_mut(*scope) {
                    state.in_flight = state.in_flight.saturating_sub(1);
                }
            }
        }
    }

    /// Tokens a request of `scope` used (for `tpm`).
    pub fn add_tokens(&self, scope: &str, tokens: u64, now_ms: u64) {
        if tokens == 0 {
            return;
        }
        self.with_scope(scope, now_ms, |s| s.count(0, tokens));
        self.send(WindowEvent::Counted {
            scope: scope.to_string(),
            at_ms: now_ms,
            requests: 0,
            tokens,
        });
    }

    /// Learn from an upstream's answer headers: at zero remaining, `scope` is full until the
    /// reset the upstream named.
    pub fn observe_headers(&self, scope: &str, headers: &reqwest::header::HeaderMap, now_ms: u64) {
        let Some(until_ms) = headers::exhausted_until(headers, now_ms) else {
            return;
        };
        self.exhaust(scope, until_ms, now_ms);
        self.send(WindowEvent::Exhausted {
            scope: scope.to_string(),
            until_ms,
        });
    }

    fn exhaust(&self, scope: &str, until_ms: u64, now_ms: u64) {
        self.with_scope(scope, now_ms, |s| {
            s.exhausted_until_ms = s.exhausted_until_ms.max(until_ms);
        });
    }

    /// A count made by another instance.
    pub fn apply_remote(&self, event: &WindowEvent, now_ms: u64) {
        match event {
            WindowEvent::Counted {
                scope,
                at_ms,
                requests,
                tokens,
            } => self.with_scope(scope, now_ms, |s| {
                // A count from a window that has ended here is stale.
                if at_ms / MINUTE_MS == s.minute {
                    s.minute_requests = s.minute_requests.saturating_add(*requests);
                    s.minute_tokens = s.minute_tokens.saturating_add(*tokens);
                }
                if at_ms / DAY_MS == s.day {
                    s.day_requests = s.day_requests.saturating_add(*requests);
                }
            }),
            WindowEvent::Exhausted { scope, until_ms } => self.exhaust(scope, *until_ms, now_ms),
        }
    }
}

#[cfg(test)]
mod tests;

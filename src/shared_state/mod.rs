//! State shared between instances of the gateway (`state.redis_url`), behind one small
//! trait: [`SharedState`]. Without Redis, [`InProcess`] keeps everything local, as a single
//! instance always did.
//!
//! The rule that keeps requests fast and Redis optional: local state stays the authority
//! for every read. What changes here (health transitions, rate-window counts, spend) is
//! published asynchronously through a bounded queue; what other instances publish is applied
//! to local state as it arrives. A request therefore waits for Redis only to claim something
//! exactly one instance may do (the half-open trial: one `SET NX PX`, bounded by
//! `state.timeout_ms`), and never when Redis is degraded: then it decides locally.
//! Budget and channel error alerts are claimed the same way, off the request path, so they
//! fire once (`alerts`).
//!
//! Redis down is not an outage: publishing drops, claims decide locally, `/health` shows
//! `shared_state: degraded`, `/metrics` counts the failures, one warning is logged per
//! outage, and when Redis is back every instance publishes its live state again (`Hello`).

pub mod alerts;
pub mod redis;
pub mod spend;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::catalog::CatalogEntry;
use crate::health::shared::HealthEvent;
use crate::health::Availability;
use crate::limits::WindowEvent;

/// What one instance tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum SharedEvent {
    Health(HealthEvent),
    Window(WindowEvent),
    /// This instance's own spend today (USD) on one budget scope: `global`,
    /// `channel:<id>` or `key:<name>`. Totals, not increments: a lost one is healed by the next.
    Spend {
        day: String,
        scope: String,
        total: f64,
    },
    /// An instance (re)joined: everyone publishes their live state again.
    Hello,
}

/// An event with the instance that sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: u64,
    pub event: SharedEvent,
}

/// How the shared state is doing, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedStatus {
    /// No shared state configured: in process.
    Local,
    Ok,
    /// Configured but unreachable: serving on local state.
    Degraded,
}

impl SharedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SharedStatus::Local => "local",
            SharedStatus::Ok => "ok",
            SharedStatus::Degraded => "degraded",
        }
    }
}

/// A job run by the instance that wins a claim.
pub type OnceJob = Box<dyn FnOnce() + Send>;

/// State shared between instances.
pub trait SharedState: Send + Sync {
    /// Tell the other instances (asynchronously; never waits, may drop when degraded).
    fn publish(&self, event: SharedEvent);

    /// Whether this instance wins `name` for `ttl` (exactly one instance does). Bounded by
    /// the configured timeout; when the shared state cannot answer, the answer is `true`.
    fn claim<'a>(&'a self, name: &'a str, ttl: Duration) -> BoxFuture<'a, bool>;

    /// Run `job` on the one instance that claims `name` (off the caller's path).
    fn once(&self, name: String, ttl: Duration, job: OnceJob);

    /// Give up claims before their time (off the caller's path; queued after what was
    /// published before): the next claim of each may win again.
    fn release(&self, names: Vec<String>);

    fn status(&self) -> SharedStatus;

    /// Events from other instances applied here.
    fn applied(&self) -> u64;
}

/// Everything in this process (no `state.redis_url`).
#[derive(Debug, Default)]
pub struct InProcess;

impl SharedState for InProcess {
    fn publish(&self, _event: SharedEvent) {}

    fn claim<'a>(&'a self, _name: &'a str, _ttl: Duration) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(true))
    }

    fn once(&self, _name: String, _ttl: Duration, job: OnceJob) {
        job();
    }

    fn release(&self, _names: Vec<String>) {}

    fn status(&self) -> SharedStatus {
        SharedStatus::Local
    }

    fn applied(&self) -> u64 {
        0
    }
}

/// The instance's shared state: in process until [`SharedHandle::set`] connects it.
#[derive(Default)]
pub struct SharedHandle(std::sync::OnceLock<Arc<dyn SharedState>>);

impl std::fmt::Debug for SharedHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get().status().as_str())
    }
}

impl SharedHandle {
    pub fn get(&self) -> &dyn SharedState {
        static LOCAL: InProcess = InProcess;
        match self.0.get() {
            Some(shared) => shared.as_ref(),
            None => &LOCAL,
        }
    }

    /// Connect (once, at start).
    pub fn set(&self, shared: Arc<dyn SharedState>) {
        let _ = self.0.set(shared);
    }
}

/// A half-open trial this instance took locally: with a shared state, exactly one instance
/// sends it (the others see it in progress). One bounded round trip, only when a trial is
/// due. The claim lasts long enough for the verdict to reach the others, never longer than
/// a cooldown (`cooldown`).
pub async fn confirm_trial(
    shared: &dyn SharedState,
    cooldown: Duration,
    entry: &CatalogEntry,
    availability: Availability,
) -> Availability {
    if availability != Availability::Trial || shared.status() == SharedStatus::Local {
        return availability;
    }
    let ttl = entry
        .channel
        .timeout
        .min(cooldown)
        .max(Duration::from_millis(100));
    let name = format!("trial:{}", entry.health_key);
    if shared.claim(&name, ttl).await {
        availability
    } else {
        Availability::TrialInProgress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_as_tagged_json() {
        let event = Envelope {
            from: 7,
            event: SharedEvent::Health(HealthEvent::Opened {
                key: "groq/llama".into(),
                for_ms: 30_000,
            }),
        };
        let text = serde_json::to_string(&event).expect("encode");
        assert_eq!(
            text,
            r#"{"from":7,"event":{"t":"health","kind":"opened","key":"groq/llama","for_ms":30000}}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&text).ok(), Some(event));
        let spend = SharedEvent::Spend {
            day: "2026-12-04".into(),
            scope: "key:team".into(),
            total: 0.25,
        };
        let text = serde_json::to_string(&spend).expect("encode");
        assert_eq!(
            text,
            r#"{"t":"spend","day":"2026-12-04","scope":"key:team","total":0.25}"#
        );
    }

    #[tokio::test]
    async fn in_process_wins_every_claim_and_runs_jobs_at_once() {
        let local = InProcess;
        assert!(local.claim("trial:a/b", Duration::from_secs(1)).await);
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        local.once(
            "alert".into(),
            Duration::from_secs(1),
            Box::new(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)),
        );
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(local.status().as_str(), "local");
    }
}

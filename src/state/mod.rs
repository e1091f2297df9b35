//! `AppState`: what every handler and background task shares.
//!
//! The config and the catalog built from it live together in one immutable [`Snapshot`] behind
//! an `ArcSwap`: a request loads it once and uses that snapshot to the end, so a reload never
//! changes a request half-way. Only the snapshot writer (`runtime::snapshot_writer`) stores a new snapshot.
//! State that must survive swaps (channel health, usage aggregates, alerts, discovery status,
//! the last config error) lives beside it, never inside.

pub mod rebuilder;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};
use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::config::{Config, ConfigSource};
use crate::health::ChannelHealth;
use crate::metrics::Metrics;
use crate::stats::aggregate::UsageAggregates;
use crate::stats::alerts::AlertLog;
use crate::usage::writer::UsageWriter;

/// Config and catalog, swapped as one.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    /// Increases with every swap.
    pub generation: u64,
    /// The API token generated when `auth.enabled` and no `api_token` is configured.
    pub generated_token: Option<Arc<crate::config::Secret>>,
}

/// The discovery state of one channel, for `/health` and `channel-status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscoveryStatus {
    pub last_success: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub models: usize,
    /// `api`, `cache` or `configured`.
    pub source: Option<&'static str>,
}

/// Shared by all handlers and background tasks.
pub struct AppState {
    /// Shared with the usage writer's observer (budget alerts read the running config).
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    pub source: ConfigSource,
    pub started_at: Instant,
    /// The error of the last rejected reload, shown by `/health`; cleared by a good reload.
    pub config_error: ArcSwapOption<String>,
    pub health: ChannelHealth,
    pub usage: Arc<UsageWriter>,
    pub aggregates: Arc<RwLock<UsageAggregates>>,
    /// Corrupt lines skipped when the aggregates were rebuilt from the logs at start.
    pub corrupt_usage_lines: u64,
    pub alerts: Arc<Mutex<AlertLog>>,
    pub discovery: Mutex<HashMap<String, DiscoveryStatus>>,
    pub metrics: Arc<Metrics>,
    /// The request history (writer and store); `None` when `history.enabled: false` or its
    /// database could not be opened (then `history_error` says why).
    pub history: Option<Arc<crate::history::HistoryWriter>>,
    pub history_error: Option<String>,
    /// The snapshot writer, for discovery and reload started from a request.
    pub rebuilder: std::sync::OnceLock<rebuilder::Rebuilder>,
    /// Memory for upstream answers read whole, shared by every request.
    pub answer_budget: crate::upstream::answer_budget::AnswerBudget,
    /// Rate windows of channels, models and client keys (survive reloads).
    pub limits: Arc<crate::limits::RateWindows>,
    /// The client keys of the current snapshot, ready to match (`server::auth`).
    pub key_ring: ArcSwapOption<KeyRing>,
    /// State shared with other instances (`state.redis_url`); unset: in process.
    pub shared: Arc<crate::shared_state::SharedHandle>,
    /// Other instances' spend, for budgets.
    pub spend_board: Arc<crate::shared_state::spend::SpendBoard>,
}

/// The client keys of one snapshot generation.
#[derive(Debug)]
pub struct KeyRing {
    pub generation: u64,
    pub keys: Vec<crate::limits::ClientKey>,
    pub configs: Vec<Arc<crate::config::ClientKeyConfig>>,
}

impl KeyRing {
    /// The key whose token `presented` is.
    pub fn find(&self, presented: &str) -> Option<crate::limits::ClientKey> {
        let config = crate::limits::client_key::find_key(&self.configs, presented)?;
        self.keys
            .iter()
            .find(|k| Arc::ptr_eq(&k.config, config))
            .cloned()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The shared state (in process until connected).
    pub fn shared(&self) -> &dyn crate::shared_state::SharedState {
        self.shared.get()
    }

    /// What a client key has spent today and this month (USD).
    pub fn key_spend(&self, name: &str) -> crate::limits::client_key::KeySpend {
        let today = Utc::now().date_naive();
        let month_start = crate::limits::client_key::month_start(today);
        let aggregates = self.aggregates.read().unwrap_or_else(|p| p.into_inner());
        let mine = aggregates.for_key(name);
        let scope = crate::shared_state::spend::key_scope(name);
        let board = &self.spend_board;
        crate::limits::client_key::KeySpend {
            today: mine.spend_on(today, None) + board.remote(today, &scope),
            month: mine.spend_between(month_start, today)
                + board.remote_between(month_start, today, &scope),
        }
    }
}

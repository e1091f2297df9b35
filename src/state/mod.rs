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
}

//! `AppState`: what every handler shares.
//!
//! The config (and, from the catalog issue on, the catalog) live together in one immutable
//! [`Snapshot`] behind an `ArcSwap`: a request loads it once and uses that snapshot to the end,
//! so a reload never changes a request half-way. State that must survive swaps (channel
//! health, usage aggregates, the last config error) lives beside it, never inside.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::config::{Config, ConfigSource};

/// Config and everything derived from it, swapped as one.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
}

/// Shared by all handlers and background tasks.
#[derive(Debug)]
pub struct AppState {
    pub snapshot: ArcSwap<Snapshot>,
    pub source: ConfigSource,
    pub started_at: Instant,
    /// The error of the last rejected reload, shown by `/health`; cleared by a good reload.
    pub config_error: ArcSwapOption<String>,
}

impl AppState {
    pub fn new(config: Config, source: ConfigSource) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot {
                config: Arc::new(config),
            }),
            source,
            started_at: Instant::now(),
            config_error: ArcSwapOption::empty(),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }
}

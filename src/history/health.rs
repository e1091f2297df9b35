//! What `/health` shows of the history ([`HistoryHealth`]), and the counters the writer and
//! the importer threads keep for it ([`Counters`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// What `/health` shows of the history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryHealth {
    pub enabled: bool,
    /// `sqlite` or `postgres`; absent when the history is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<&'static str>,
    pub stored: u64,
    pub dropped: u64,
    pub write_errors: u64,
    pub last_error: Option<String>,
    pub size_bytes: u64,
    /// Rows spooled and not yet stored, in bytes (the importer waits for idle CPU).
    pub spool_bytes: u64,
}

/// What the writer and the importer count, for `/health`.
#[derive(Debug, Default)]
pub struct Counters {
    pub stored: AtomicU64,
    pub dropped: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    /// Count an error, keep its message for `/health`, and log the first and every 100th.
    pub fn failed(&self, what: &str, error: &super::HistoryError) {
        let message = format!("{what}: {error}");
        // The message first: whoever sees the count sees why.
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
        let errors = self.errors.fetch_add(1, Ordering::Release) + 1;
        if errors == 1 || errors.is_multiple_of(100) {
            tracing::error!(errors, "request history: {message}");
        }
    }

    /// The health of a history on `engine`, with its sizes.
    pub fn health(&self, engine: &'static str, size_bytes: u64, spool_bytes: u64) -> HistoryHealth {
        HistoryHealth {
            enabled: true,
            engine: Some(engine),
            stored: self.stored.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            write_errors: self.errors.load(Ordering::Acquire),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            size_bytes,
            spool_bytes,
        }
    }
}

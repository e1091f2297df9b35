//! The request history: every routed call, with what it sent, answered and cost, kept in a
//! database that the `/v1/requests` API and the web UI search.
//!
//! Owns the row's shape ([`HistoryRow`]), the one trait a storage engine implements ([`HistoryStore`]), the SQLite
//! engine ([`sqlite`]) and the writer thread ([`writer`]) that stores rows off the request path.
//!
//! Rules kept here:
//! - Nothing a client authenticates with is ever stored: no headers are kept at all, and bodies
//!   pass through [`crate::upstream::redact::redact_secrets`] before they are written.
//! - Bodies are cut at `history.max_body_bytes` (on a character boundary) with a visible
//!   `…[truncated N bytes]` marker.
//! - A broken or full database never fails a request: the writer counts its errors and drops,
//!   and `/health` shows both.
//!
//! What a call hands over beside its usage record ([`CallDetails`]) is defined in
//! `usage::details` (the usage writer carries it and may not name this higher module) and
//! re-exported here.

pub mod query;
pub mod row;
pub mod search_text;
pub mod sqlite;
pub mod writer;

use serde::Serialize;

pub use crate::usage::details::{AttemptLog, CallDetails};
pub use query::{HistoryPage, HistoryQuery};
pub use row::HistoryRow;
pub use writer::HistoryWriter;

/// Why the history store failed.
#[derive(Debug)]
pub enum HistoryError {
    Sqlite(rusqlite::Error),
    Io(std::io::Error),
    BadQuery(String),
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::Sqlite(e) => write!(f, "history database: {e}"),
            HistoryError::Io(e) => write!(f, "history database: {e}"),
            HistoryError::BadQuery(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for HistoryError {}

impl From<rusqlite::Error> for HistoryError {
    fn from(e: rusqlite::Error) -> Self {
        HistoryError::Sqlite(e)
    }
}

impl From<std::io::Error> for HistoryError {
    fn from(e: std::io::Error) -> Self {
        HistoryError::Io(e)
    }
}

/// A storage engine for the history. SQLite is built in; an engine shared by several gateway
/// instances (PostgreSQL) implements the same six calls.
pub trait HistoryStore: Send + Sync {
    /// Store rows in one transaction.
    fn insert(&self, rows: &[HistoryRow]) -> Result<(), HistoryError>;
    /// One page of rows (without bodies), newest first.
    fn search(&self, query: &HistoryQuery) -> Result<HistoryPage, HistoryError>;
    /// The whole row of one request id.
    fn get(&self, request_id: &str) -> Result<Option<HistoryRow>, HistoryError>;
    /// Delete rows older than `before_ms` (Unix milliseconds); the number deleted.
    fn delete_before(&self, before_ms: i64) -> Result<u64, HistoryError>;
    /// Calls per time bucket of `width_ms` since `from_ms`, oldest first (for charts).
    fn buckets(&self, from_ms: i64, width_ms: i64) -> Result<Vec<Bucket>, HistoryError>;
    /// Bytes on disk, for `/health` and the size report.
    fn size_bytes(&self) -> u64;
}

/// Totals of the calls in one time bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Unix milliseconds of the bucket's start.
    pub start_ms: i64,
    pub requests: u64,
    pub errors: u64,
    pub tokens: u64,
    pub cost: f64,
}

/// Queue capacity of the history writer.
pub const QUEUE_CAPACITY: usize = 4_096;

/// Open the configured database and start its writer; `(None, Some(why))` when it cannot be
/// opened (the gateway serves anyway; `/health` shows why).
pub async fn start_from_config(
    config: &crate::config::HistoryConfig,
) -> (Option<std::sync::Arc<HistoryWriter>>, Option<String>) {
    if !config.enabled {
        return (None, None);
    }
    let path = config.path.clone();
    let opened = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path)).await;
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            let why = format!("cannot open {}: {e}", config.path.display());
            tracing::error!("request history off: {why}");
            return (None, Some(why));
        }
        Err(e) => return (None, Some(format!("cannot open the history database: {e}"))),
    };
    let settings = writer::WriterSettings {
        bodies: row::BodyPolicy {
            capture: config.capture_bodies,
            max_bytes: config.max_body_bytes,
        },
        retention_days: config.retention_days,
        capacity: QUEUE_CAPACITY,
    };
    (
        Some(HistoryWriter::start(std::sync::Arc::new(store), settings)),
        None,
    )
}

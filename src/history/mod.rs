//! The request history: every routed call, with what it sent, answered and cost, kept in a
//! database that the `/v1/requests` API and the web UI search.
//!
//! Owns the row's shape ([`HistoryRow`]), what the proxy hands over beside the usage record
//! ([`CallDetails`]), the one trait a storage engine implements ([`HistoryStore`]), the SQLite
//! engine ([`sqlite`]) and the writer thread ([`writer`]) that stores rows off the request path.
//!
//! Rules kept here:
//! - Nothing a client authenticates with is ever stored: no headers are kept at all, and bodies
//!   pass through [`crate::stats::alerts::redact_secrets`] before they are written.
//! - Bodies are cut at `history.max_body_bytes` (on a character boundary) with a visible
//!   `…[truncated N bytes]` marker.
//! - A broken or full database never fails a request: the writer counts its errors and drops,
//!   and `/health` shows both.

pub mod query;
pub mod row;
pub mod sqlite;
pub mod writer;

use serde::{Deserialize, Serialize};

pub use query::{HistoryPage, HistoryQuery};
pub use row::HistoryRow;
pub use writer::HistoryWriter;

/// One attempt of a call, in the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub channel: String,
    pub model: String,
    /// The upstream's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// `success`, or the failure class (`rate_limited`, `server_error`, `timeout`...).
    pub error_class: String,
    pub duration_ms: u64,
    /// What went wrong (redacted), for a failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a call leaves for its history row beside the usage record; built on the request path
/// with as little work as possible (the writer redacts and truncates).
#[derive(Debug, Clone, Default)]
pub struct CallDetails {
    /// `X-Title`, else `HTTP-Referer`, else `User-Agent`.
    pub client_app: Option<String>,
    /// The name of the API key the client used, when keys are named.
    pub key_name: Option<String>,
    /// The client's request body as it sent it; `None` when bodies are not captured.
    pub request_body: Option<bytes::Bytes>,
    /// The answer: the upstream's body, or for a stream its reassembled text and tool-call
    /// arguments; `None` when bodies are not captured.
    pub response_body: Option<bytes::Bytes>,
    pub attempts: Vec<AttemptLog>,
    /// The ranked candidates, one per line (`channel/model score`), when cheap to keep.
    pub route: Option<String>,
}

/// Why the history store failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("history database: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    BadQuery(String),
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
pub const QUEUE_CAPACITY: usize = 16_384;

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

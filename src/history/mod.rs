//! The request history: every routed call, with what it sent, answered and cost, kept in a
//! database that the `/v1/requests` API and the web UI search.
//!
//! Owns the row's shape ([`HistoryRow`]), the one trait a storage engine implements ([`HistoryStore`]), the SQLite
//! engine ([`sqlite`]), the PostgreSQL engine shared by several instances ([`postgres`], which
//! also keeps the usage records the stats API reads) and the writer thread ([`writer`]) that
//! stores rows off the request path.
//!
//! Rules kept here:
//! - Nothing a client authenticates with is ever stored: no headers are kept at all, and bodies
//!   (and the app and query) pass through [`crate::upstream::redact::redact_secrets`] and
//!   [`known_secrets::KnownSecrets`] (the config's own keys and tokens) before they are written.
//! - A body longer than `history.max_body_bytes` is shortened with a visible marker: a JSON
//!   body stays JSON ([`shorten`]), any other is cut on a character boundary with
//!   `…[truncated N bytes]`.
//! - A broken or full database never fails a request: the writer counts its errors and drops,
//!   and `/health` shows both.
//!
//! What a call hands over beside its usage record ([`CallDetails`]) is defined in
//! `usage::details` (the usage writer carries it and may not name this higher module) and
//! re-exported here.

pub mod health;
pub mod importer;
pub mod known_secrets;
pub mod pacer;
pub mod postgres;
pub mod postgres_sql;
pub mod query;
pub mod row;
pub mod search_text;
pub mod settled_days;
pub mod shorten;
pub mod spool;
pub mod sqlite;
pub mod writer;

use chrono::NaiveDate;
use serde::Serialize;

use crate::stats::aggregate::UsageAggregates;
use crate::usage::record::UsageRecord;
use pacer::Pacer;

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
    /// PostgreSQL failed; the text never holds the password.
    Postgres(String),
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::Sqlite(e) => write!(f, "history database: {e}"),
            HistoryError::Io(e) => write!(f, "history database: {e}"),
            HistoryError::BadQuery(message) => f.write_str(message),
            HistoryError::Postgres(message) => write!(f, "history database: {message}"),
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
/// instances (PostgreSQL) implements the same calls, and keeps the usage records too.
pub trait HistoryStore: Send + Sync {
    /// Store rows in one transaction, without pauses.
    fn insert(&self, rows: &[HistoryRow]) -> Result<(), HistoryError> {
        self.insert_calls(rows, &[], &mut Pacer::unpaced())
    }
    /// Store finished calls in one transaction: their rows and, in an engine that keeps
    /// them, their usage records (`records[i]` is the record of `rows[i]`; the writer hands
    /// an engine that does not keep them none). An engine that works in this process calls
    /// `pacer.breathe()` between rows.
    fn insert_calls(
        &self,
        rows: &[HistoryRow],
        records: &[UsageRecord],
        pacer: &mut Pacer,
    ) -> Result<(), HistoryError>;
    /// The engine's name, as `/health` shows it.
    fn engine(&self) -> &'static str {
        "sqlite"
    }
    /// Whether full-text search reads the bodies of the rows this store writes
    /// (`history.search_bodies`, as it was at start).
    fn searches_bodies(&self) -> bool {
        true
    }
    /// Whether this engine keeps the usage records of every instance ([`Self::usage_between`]).
    fn keeps_usage_records(&self) -> bool {
        false
    }
    /// The usage aggregates of the UTC days `first..=last` from the records of every instance
    /// (every key's too: `UsageAggregates::for_key`), in an engine that keeps usage records;
    /// `Ok(None)` in one that does not (each instance then reports its own).
    fn usage_between(
        &self,
        _first: NaiveDate,
        _last: NaiveDate,
    ) -> Result<Option<UsageAggregates>, HistoryError> {
        Ok(None)
    }
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
    /// Calls that failed or were cancelled, as the daily figures' `failed_requests` count them.
    pub errors: u64,
    pub tokens: u64,
    /// Summed in nano-USD, as the usage aggregates are (no floating-point drift); costs in
    /// another currency are left out, as there.
    pub cost: f64,
}

/// Every instance's usage of the UTC days `first..=last`, from a history that keeps usage
/// records (PostgreSQL); `None` without one, or when it cannot be read (logged: the caller then
/// shows this instance's own aggregates).
pub async fn shared_usage(
    history: Option<&std::sync::Arc<HistoryWriter>>,
    first: NaiveDate,
    last: NaiveDate,
) -> Option<UsageAggregates> {
    let store = history?.store();
    if !store.keeps_usage_records() {
        return None;
    }
    let read = tokio::task::spawn_blocking(move || store.usage_between(first, last)).await;
    match read {
        Ok(Ok(usage)) => usage,
        Ok(Err(e)) => {
            tracing::warn!("usage of this instance only: {e}");
            None
        }
        Err(e) => {
            tracing::warn!("usage of this instance only: {e}");
            None
        }
    }
}

/// Queue capacity of the history writer.
pub const QUEUE_CAPACITY: usize = 4_096;

/// Open the configured database and start its writer; `(None, Some(why))` when it cannot be
/// opened (the gateway serves anyway; `/health` shows why). With `history.url`, a PostgreSQL
/// server that does not answer yet is not an error: the store connects when it does.
pub async fn start_from_config(
    config: &crate::config::HistoryConfig,
) -> (Option<std::sync::Arc<HistoryWriter>>, Option<String>) {
    if !config.enabled {
        return (None, None);
    }
    let opened = match &config.url {
        Some(url) => open_postgres(url, config.search_bodies).await,
        None => open_sqlite(&config.path, config.search_bodies).await,
    };
    let store = match opened {
        Ok(store) => store,
        Err(why) => {
            tracing::error!("request history off: {why}");
            return (None, Some(why));
        }
    };
    let settings = writer::WriterSettings {
        bodies: row::BodyPolicy {
            capture: config.capture_bodies,
            max_bytes: config.max_body_bytes,
            secrets: Default::default(),
        },
        retention_days: config.retention_days,
        capacity: QUEUE_CAPACITY,
        spool_dir: config.spool_dir(),
        spool_max_bytes: (config.spool_max_mb as u64).saturating_mul(1 << 20),
    };
    match HistoryWriter::start(store, settings) {
        Ok(writer) => (Some(writer), None),
        Err(e) => {
            let why = format!(
                "cannot open the spool {}: {e}",
                config.spool_dir().display()
            );
            tracing::error!("request history off: {why}");
            (None, Some(why))
        }
    }
}

async fn open_sqlite(
    path: &std::path::Path,
    search_bodies: bool,
) -> Result<std::sync::Arc<dyn HistoryStore>, String> {
    let owned = path.to_path_buf();
    match tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&owned)).await {
        Ok(Ok(store)) => Ok(std::sync::Arc::new(store.with_body_search(search_bodies))),
        Ok(Err(e)) => Err(format!("cannot open {}: {e}", path.display())),
        Err(e) => Err(format!("cannot open the history database: {e}")),
    }
}

async fn open_postgres(
    url: &crate::config::Secret,
    search_bodies: bool,
) -> Result<std::sync::Arc<dyn HistoryStore>, String> {
    let (url, handle) = (url.clone(), tokio::runtime::Handle::current());
    match tokio::task::spawn_blocking(move || postgres::PostgresStore::open(&url, handle)).await {
        Ok(Ok(store)) => Ok(std::sync::Arc::new(store.with_body_search(search_bodies))),
        Ok(Err(e)) => Err(format!("history.url: {e}")),
        Err(e) => Err(format!("cannot open the history database: {e}")),
    }
}

//! The shared history engine: PostgreSQL (`history.url`), so every instance of the gateway
//! stores its calls in one place and `/v1/requests`, the Requests page and `/v1/stats/*` of any
//! instance show every instance's calls. Beside the history rows it keeps the usage records
//! (`usage_records`: the record as JSONB and the columns the stats read).
//!
//! The trait is synchronous: it is called from the history writer thread and from blocking
//! threads (`spawn_blocking`). Each call drives the async driver (`tokio-postgres`, no TLS)
//! with `Handle::block_on` on the runtime captured at start, polling the connection beside the
//! query (no task is spawned: a connection lives only inside its session).
//!
//! Rules kept here:
//! - Two sessions, as SQLite has two connections: the writer's and the readers'. A failed call
//!   drops its session; the next call connects again (and a call on a session that turns out
//!   closed, e.g. after the server restarted, is tried once more on a new one). Every call is
//!   bounded in time ([`CALL_TIMEOUT`]; connecting, [`CONNECT_TIMEOUT`]).
//! - The schema is created on every new connection, under an advisory lock (two instances
//!   starting at once). Search uses a `pg_trgm` GIN index on the search text when the extension
//!   can be created, else a plain scan; both find a phrase inside a longer text in any script.
//! - The password never leaves: errors are scrubbed of it ([`PostgresStore::scrubbed`]) and
//!   the URL is shown only through [`url_without_credentials`].
//! - Never panics on what the server sends: every column is read with `try_get`.
//! - Stats read the records of the days asked; a day that can get no new record any more is
//!   read once and its sums kept ([`SettledDays`]), so a month's report reads today's records.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use tokio::runtime::Handle;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Connection, NoTls, Socket};

use super::pacer::Pacer;
use super::postgres_sql as sql;
use super::settled_days::SettledDays;
use super::{Bucket, HistoryError, HistoryPage, HistoryQuery, HistoryRow, HistoryStore};
use crate::config::{url_without_credentials, Secret};
use crate::stats::aggregate::UsageAggregates;
use crate::usage::record::UsageRecord;

/// Longest wait for a new connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one call (a batch insert, a page, a stats range).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the size shown in `/health` is asked of the server, at most.
const SIZE_EVERY: Duration = Duration::from_secs(30);

type PgConnection = Pin<Box<Connection<Socket, NoTlsStream>>>;

/// One connection: the client and the connection future it talks through.
struct Session {
    client: Client,
    connection: PgConnection,
}

/// Why a call failed, before it is told as a [`HistoryError`].
enum Failure {
    /// The connection is gone (closed by the server, reset, never made): worth a new one.
    Connection(String),
    /// The server refused the statement (or a value did not convert).
    Statement(String),
    TimedOut,
}

/// The PostgreSQL history.
pub struct PostgresStore {
    config: tokio_postgres::Config,
    /// `history.url` with its credentials masked.
    shown: String,
    password: Option<String>,
    handle: Handle,
    writer: Mutex<Option<Session>>,
    reader: Mutex<Option<Session>>,
    size: AtomicU64,
    size_checked: Mutex<Option<Instant>>,
    /// Sums of the days that get no new records, read once.
    settled: SettledDays,
    /// Whether the bodies' text is indexed (`history.search_bodies`).
    search_bodies: bool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl PostgresStore {
    /// The store of `url`, driven on `handle`'s runtime. Call from a blocking thread. A server
    /// that does not answer is not an error (it is told in the log; calls connect later); only
    /// a URL that does not parse is.
    pub fn open(url: &Secret, handle: Handle) -> Result<Self, HistoryError> {
        let mut config = tokio_postgres::Config::from_str(url.expose()).map_err(|e| {
            HistoryError::Postgres(format!(
                "not a PostgreSQL URL ({})",
                scrub(&e.to_string(), None)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("smart-ai-router");
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        let store = Self {
            shown: url_without_credentials(url.expose()),
            password,
            config,
            handle,
            writer: Mutex::new(None),
            reader: Mutex::new(None),
            size: AtomicU64::new(0),
            size_checked: Mutex::new(None),
            settled: SettledDays::default(),
            search_bodies: true,
        };
        match store.refresh_size() {
            Ok(()) => tracing::info!(url = %store.shown, "request history on PostgreSQL"),
            Err(e) => tracing::warn!(
                url = %store.shown,
                "request history on PostgreSQL, not reachable yet ({e}); it connects when it is"
            ),
        }
        Ok(store)
    }

    /// Index the bodies' text for search (the default) or not (`history.search_bodies`).
    pub fn with_body_search(mut self, on: bool) -> Self {
        self.search_bodies = on;
        self
    }

    /// `text` without the password (an error message may quote what it was given).
    fn scrubbed(&self, text: &str) -> String {
        scrub(text, self.password.as_deref())
    }

    /// Run `work` on the session in `slot`, connecting first when there is none. A failed call
    /// drops the session; one that failed because a reused connection was found closed is run
    /// once more on a new one.
    fn run<T>(
        &self,
        slot: &Mutex<Option<Session>>,
        work: impl AsyncFn(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, HistoryError> {
        let mut session = lock(slot);
        let outcome = self.handle.block_on(async {
            for _ in 0..2 {
                let reused = session.is_some();
                if session.is_none() {
                    *session = Some(self.connect().await?);
                }
                let Some(Session { client, connection }) = session.as_mut() else {
                    continue;
                };
                let result = drive(connection, work(client)).await;
                if result.is_err() {
                    *session = None;
                }
                match result {
                    Err(Failure::Connection(_)) if reused => continue,
                    other => return other,
                }
            }
            Err(Failure::Connection("the connection closed twice".into()))
        });
        outcome.map_err(|f| HistoryError::Postgres(self.scrubbed(&f.to_string())))
    }

    /// A new session, with the schema in place.
    async fn connect(&self) -> Result<Session, Failure> {
        let connecting = self.config.connect(NoTls);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| Failure::TimedOut)?
            .map_err(|e| {
                // The server's own words ("password authentication failed for user …", never
                // the password), not tokio-postgres's bare "db error".
                Failure::Connection(match e.as_db_error() {
                    Some(db) => format!("the server refused: {}: {}", db.severity(), db.message()),
                    None => e.to_string(),
                })
            })?;
        let mut connection: PgConnection = Box::pin(connection);
        drive(&mut connection, sql::ensure_schema(&client)).await?;
        Ok(Session { client, connection })
    }

    /// Ask the server for the tables' size (kept for [`HistoryStore::size_bytes`]).
    fn refresh_size(&self) -> Result<(), HistoryError> {
        *lock(&self.size_checked) = Some(Instant::now());
        let bytes = self.run(&self.writer, async |c| sql::size_bytes(c).await)?;
        self.size.store(bytes, Ordering::Relaxed);
        Ok(())
    }
}

/// Poll `work` and the connection together, within [`CALL_TIMEOUT`].
async fn drive<T>(
    connection: &mut PgConnection,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, Failure> {
    let raced = async {
        tokio::select! {
            result = work => result.map_err(Failure::of),
            ended = connection.as_mut() => Err(Failure::Connection(match ended {
                Ok(()) => "the server closed the connection".into(),
                Err(e) => e.to_string(),
            })),
        }
    };
    tokio::time::timeout(CALL_TIMEOUT, raced)
        .await
        .unwrap_or(Err(Failure::TimedOut))
}

impl Failure {
    fn of(e: tokio_postgres::Error) -> Self {
        if e.is_closed() {
            Failure::Connection(e.to_string())
        } else {
            Failure::Statement(match e.as_db_error() {
                Some(db) => format!("{}: {}", db.severity(), db.message()),
                None => e.to_string(),
            })
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connection(e) => write!(f, "PostgreSQL connection failed: {e}"),
            Failure::Statement(e) => write!(f, "PostgreSQL: {e}"),
            Failure::TimedOut => f.write_str("PostgreSQL did not answer in time"),
        }
    }
}

/// `text` with every occurrence of `password` masked (and a URL's credentials, should an
/// error quote one).
fn scrub(text: &str, password: Option<&str>) -> String {
    let text = match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    };
    if text.contains("postgres://") || text.contains("postgresql://") {
        return text
            .split(' ')
            .map(|word| {
                if word.contains("://") {
                    url_without_credentials(word)
                } else {
                    word.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    text
}

impl HistoryStore for PostgresStore {
    /// The work is the server's (this thread waits on it), so there is nothing to pace.
    fn insert_calls(
        &self,
        rows: &[HistoryRow],
        records: &[UsageRecord],
        _pacer: &mut Pacer,
    ) -> Result<(), HistoryError> {
        let bodies = self.search_bodies;
        self.run(&self.writer, async |c| {
            sql::insert(c, rows, records, bodies).await
        })?;
        let stale = lock(&self.size_checked).is_none_or(|at| at.elapsed() >= SIZE_EVERY);
        if stale {
            // The size is for `/health`; a failure here is not the batch's.
            let _ = self.refresh_size();
        }
        Ok(())
    }

    fn searches_bodies(&self) -> bool {
        self.search_bodies
    }

    fn search(&self, query: &HistoryQuery) -> Result<HistoryPage, HistoryError> {
        let (data, total) = self.run(&self.reader, async |c| sql::search(c, query).await)?;
        let lower_bound = total > super::query::COUNT_LIMIT;
        let total = total.min(super::query::COUNT_LIMIT);
        Ok(HistoryPage {
            object: "list",
            has_more: lower_bound || query.offset() + (data.len() as u64) < total,
            data,
            page: query.page,
            per_page: query.per_page,
            total,
            total_is_lower_bound: lower_bound,
        })
    }

    fn get(&self, request_id: &str) -> Result<Option<HistoryRow>, HistoryError> {
        self.run(&self.reader, async |c| sql::get(c, request_id).await)
    }

    fn delete_before(&self, before_ms: i64) -> Result<u64, HistoryError> {
        self.run(&self.writer, async |c| {
            c.execute("DELETE FROM requests WHERE time_ms < $1", &[&before_ms])
                .await
        })
    }

    fn buckets(&self, from_ms: i64, width_ms: i64) -> Result<Vec<Bucket>, HistoryError> {
        let width = width_ms.max(1);
        self.run(&self.reader, async |c| {
            sql::buckets(c, from_ms, width).await
        })
    }

    fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    fn keeps_usage_records(&self) -> bool {
        true
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn usage_between(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Option<UsageAggregates>, HistoryError> {
        let settled_last = SettledDays::last_settled(Utc::now());
        let mut total = UsageAggregates::new();
        if first <= settled_last {
            let found = self.settled.lookup(first, last.min(settled_last));
            total.merge(found.kept);
            if let (Some(&from), Some(&to)) = (found.missing.first(), found.missing.last()) {
                let mut read =
                    self.run(&self.reader, async |c| sql::usage_by_day(c, from, to).await)?;
                for day in found.missing {
                    let sums = read.remove(&day).unwrap_or_default();
                    self.settled.keep(day, sums.clone());
                    total.merge(sums);
                }
            }
        }
        let open_from = settled_last.succ_opt().unwrap_or(settled_last).max(first);
        if open_from <= last {
            let read = self.run(&self.reader, async |c| {
                sql::usage_by_day(c, open_from, last).await
            })?;
            for sums in read.into_values() {
                total.merge(sums);
            }
        }
        Ok(Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn errors_never_show_the_password() {
        assert_eq!(
            scrub("password authentication failed: s3cret!", Some("s3cret!")),
            "password authentication failed: ***"
        );
        assert_eq!(
            scrub("cannot reach postgres://u:pw@db:5432/h now", None),
            "cannot reach postgres://***@db:5432/h now"
        );
    }
}

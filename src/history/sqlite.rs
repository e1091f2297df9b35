//! The built-in history engine: one SQLite file (WAL, so pages read while the writer writes),
//! a table of rows and a contentless FTS5 index with the trigram tokenizer over the searchable
//! text (so a phrase in any script is found inside a longer text, spaces or not).
//!
//! The index is tuned for a log that is written far more than it is searched: segments are
//! merged sixteen at a time (`automerge = 16`, the most FTS5 allows), which rewrites each
//! indexed byte fewer times than the default of four, for a few more segments to read per
//! search (measured: BENCHMARKS.md, request history).
//!
//! Two connections: the writer thread's and one for reads (the API and the UI, run on a
//! blocking thread). Pages are newest first by start time, each filter served by an index on
//! (column, time) so a page reads only its rows; a search walks the full-text index newest
//! first (by insertion order). Counting stops at [`COUNT_LIMIT`] so a page over a million rows
//! stays fast.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::stats::aggregate::nanos_to_usd;
use crate::usage::logfiles::{create_private_dir, make_private, open_private_append};
use crate::usage::record::UsageRecord;

use super::pacer::Pacer;
use super::query::{fts_expression, short_words, COUNT_LIMIT};
use super::{Bucket, HistoryError, HistoryPage, HistoryQuery, HistoryRow, HistoryStore};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time_ms INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    request_format TEXT NOT NULL,
    app TEXT,
    key_name TEXT,
    query TEXT NOT NULL,
    strategy TEXT NOT NULL,
    model TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    input_cost REAL NOT NULL,
    output_cost REAL NOT NULL,
    total_cost REAL NOT NULL,
    cost_currency TEXT NOT NULL,
    cost_known INTEGER NOT NULL,
    usage_estimated INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    ttft_ms INTEGER,
    error TEXT,
    attempts TEXT NOT NULL,
    route TEXT,
    request_body TEXT,
    response_body TEXT
);
CREATE INDEX IF NOT EXISTS requests_time ON requests(time_ms);
DROP INDEX IF EXISTS requests_model;
DROP INDEX IF EXISTS requests_channel;
DROP INDEX IF EXISTS requests_status;
DROP INDEX IF EXISTS requests_app;
CREATE INDEX IF NOT EXISTS requests_model_time ON requests(model, time_ms);
CREATE INDEX IF NOT EXISTS requests_channel_time ON requests(channel_id, time_ms);
CREATE INDEX IF NOT EXISTS requests_status_time ON requests(status, time_ms);
CREATE INDEX IF NOT EXISTS requests_app_time ON requests(app, time_ms);
CREATE VIRTUAL TABLE IF NOT EXISTS requests_fts
    USING fts5(text, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO requests_fts(requests_fts, rank) VALUES ('automerge', 16);
";

/// Every column but the bodies (a page of the list).
const SUMMARY_COLUMNS: &str = "r.id, r.time_ms, r.timestamp, r.request_format, r.app, r.key_name, \
    r.query, r.strategy, r.model, r.channel_id, r.channel_name, r.provider, r.status, \
    r.http_status, r.stream, r.input_tokens, r.output_tokens, r.total_tokens, r.cached_tokens, \
    r.reasoning_tokens, r.input_cost, r.output_cost, r.total_cost, r.cost_currency, \
    r.cost_known, r.usage_estimated, r.latency_ms, r.ttft_ms, r.error, r.attempts, r.route";

const INSERT: &str = "INSERT OR IGNORE INTO requests (id, time_ms, timestamp, request_format, \
    app, key_name, query, strategy, model, channel_id, channel_name, provider, status, \
    http_status, stream, input_tokens, output_tokens, total_tokens, cached_tokens, \
    reasoning_tokens, input_cost, output_cost, total_cost, cost_currency, cost_known, \
    usage_estimated, latency_ms, ttft_ms, error, attempts, route, request_body, response_body) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
    ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)";

/// The SQLite history.
pub struct SqliteStore {
    path: PathBuf,
    /// Whether the bodies' text is indexed (`history.search_bodies`).
    search_bodies: bool,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn connect(path: &Path) -> Result<Connection, HistoryError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A checkpoint every 8,192 WAL pages (32 MiB) instead of 1,000: a page written by many
    // batches is copied to the database once. (A memory mapping and a larger page cache read
    // faster, but show in the process's RSS: measured +100 MB and +15 MB.)
    conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    Ok(conn)
}

/// `path` with `suffix` appended to its file name (`history.db` → `history.db-wal`).
fn suffixed(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

impl SqliteStore {
    /// Open (or create) the database at `path`, creating its folder.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        // The database holds prompts and answers: only its owner reads it. SQLite gives its
        // WAL and shared-memory files the database file's mode.
        drop(open_private_append(path)?);
        for file in [
            path.to_path_buf(),
            suffixed(path, "-wal"),
            suffixed(path, "-shm"),
        ] {
            make_private(&file)?;
        }
        let writer = connect(path)?;
        writer.execute_batch(SCHEMA)?;
        let reader = connect(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            search_bodies: true,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// Index the bodies' text for search (the default) or not (`history.search_bodies`):
    /// rows stored without it are found by their other fields only.
    pub fn with_body_search(mut self, on: bool) -> Self {
        self.search_bodies = on;
        self
    }
}

impl HistoryStore for SqliteStore {
    fn insert_calls(
        &self,
        rows: &[HistoryRow],
        _records: &[UsageRecord],
        pacer: &mut Pacer,
    ) -> Result<(), HistoryError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(INSERT)?;
            let mut index =
                tx.prepare_cached("INSERT INTO requests_fts(rowid, text) VALUES (?1, ?2)")?;
            for row in rows {
                if insert.execute(params_from_iter(params_of(row)?))? == 1 {
                    let text = row.search_text(self.search_bodies);
                    index.execute(params![tx.last_insert_rowid(), text])?;
                }
                pacer.breathe();
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn searches_bodies(&self) -> bool {
        self.search_bodies
    }

    fn search(&self, query: &HistoryQuery) -> Result<HistoryPage, HistoryError> {
        let (from_where, values, order) = filtered(query);
        let conn = lock(&self.reader);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} {from_where} ORDER BY {order} LIMIT {} OFFSET {}",
            query.per_page,
            query.offset()
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let data = statement
            .query_map(params_from_iter(values.iter()), |r| row_of(r, false))?
            .collect::<Result<Vec<_>, _>>()?;
        let counted = format!(
            "SELECT count(*) FROM (SELECT 1 {from_where} LIMIT {})",
            COUNT_LIMIT + 1
        );
        let total: u64 = conn.query_row(&counted, params_from_iter(values.iter()), |r| r.get(0))?;
        let lower_bound = total > COUNT_LIMIT;
        let total = total.min(COUNT_LIMIT);
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
        let conn = lock(&self.reader);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, r.request_body, r.response_body FROM requests r WHERE r.id = ?1"
        );
        let row = conn
            .query_row(&sql, [request_id], |r| row_of(r, true))
            .optional()?;
        Ok(row)
    }

    fn delete_before(&self, before_ms: i64) -> Result<u64, HistoryError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM requests_fts WHERE rowid IN (SELECT seq FROM requests WHERE time_ms < ?1)",
            [before_ms],
        )?;
        let deleted = tx.execute("DELETE FROM requests WHERE time_ms < ?1", [before_ms])?;
        tx.commit()?;
        Ok(deleted as u64)
    }

    fn buckets(&self, from_ms: i64, width_ms: i64) -> Result<Vec<Bucket>, HistoryError> {
        let conn = lock(&self.reader);
        let mut statement = conn.prepare_cached(
            "SELECT time_ms / ?2, count(*), sum(status != 'ok'), sum(total_tokens), \
             sum(CASE WHEN upper(cost_currency) IN ('USD', '') \
                 THEN CAST(round(max(total_cost, 0) * 1000000000.0) AS INTEGER) ELSE 0 END) \
             FROM requests WHERE time_ms >= ?1 GROUP BY 1 ORDER BY 1",
        )?;
        let width = width_ms.max(1);
        let rows = statement.query_map(params![from_ms, width], |r| {
            Ok(Bucket {
                start_ms: r.get::<_, i64>(0)? * width,
                requests: r.get::<_, i64>(1)?.max(0) as u64,
                errors: r.get::<_, i64>(2)?.max(0) as u64,
                tokens: r.get::<_, i64>(3)?.max(0) as u64,
                cost: nanos_to_usd(r.get::<_, i64>(4)?.max(0) as u64),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn size_bytes(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        [self.path.clone(), PathBuf::from(wal)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// A `LIKE` pattern (escape `\\`) matching `text` anywhere.
fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// `text` with every non-ASCII character written as JSON's `\uXXXX` escape (a pair of them
/// past the Basic Multilingual Plane). `LIKE` ignores ASCII case, so both hex cases match.
fn json_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() * 6);
    for c in text.chars() {
        if c.is_ascii() {
            escaped.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                escaped.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    escaped
}

/// `FROM ... WHERE ...` of a query, its values, and the column to order by.
fn filtered(query: &HistoryQuery) -> (String, Vec<Value>, &'static str) {
    let words = query.words();
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let (mut from, order) = match fts_expression(&words) {
        Some(expression) => {
            clauses.push("requests_fts MATCH ?".into());
            values.push(Value::Text(expression));
            // CROSS JOIN keeps the index as the outer loop: SQLite never evaluates the match
            // row by row from a filter's side.
            (
                "FROM requests_fts f CROSS JOIN requests r ON r.seq = f.rowid".to_string(),
                "f.rowid DESC",
            )
        }
        None => ("FROM requests r".to_string(), "r.time_ms DESC, r.seq DESC"),
    };
    for word in short_words(&words) {
        let columns = [
            "r.query",
            "r.model",
            "r.channel_id",
            "r.channel_name",
            "r.app",
            "r.error",
            "r.request_body",
            "r.response_body",
        ];
        // A body keeps the JSON the client sent: a word with non-ASCII characters may be
        // there as `\uXXXX` escapes (`json.dumps` writes them so by default).
        let mut patterns = vec![like_pattern(word)];
        if !word.is_ascii() {
            patterns.push(like_pattern(&json_escaped(word)));
        }
        let mut any: Vec<String> = Vec::new();
        for pattern in &patterns {
            for column in columns {
                any.push(format!("{column} LIKE ? ESCAPE '\\'"));
                values.push(Value::Text(pattern.clone()));
            }
        }
        clauses.push(format!("({})", any.join(" OR ")));
    }
    let equal = [
        ("r.model", &query.model),
        ("r.channel_id", &query.channel),
        ("r.status", &query.status),
        ("r.app", &query.app),
        ("r.key_name", &query.key),
        ("r.request_format", &query.format),
    ];
    for (column, value) in equal {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            values.push(Value::Text(v.clone()));
        }
    }
    if let Some(ms) = query.from_ms {
        clauses.push("r.time_ms >= ?".into());
        values.push(Value::Integer(ms));
    }
    if let Some(ms) = query.to_ms {
        clauses.push("r.time_ms < ?".into());
        values.push(Value::Integer(ms));
    }
    if !clauses.is_empty() {
        from.push_str(" WHERE ");
        from.push_str(&clauses.join(" AND "));
    }
    (from, values, order)
}

fn params_of(row: &HistoryRow) -> Result<Vec<Value>, HistoryError> {
    let attempts = serde_json::to_string(&row.attempts)
        .map_err(|e| HistoryError::BadQuery(format!("attempts do not serialise: {e}")))?;
    let text = |s: &str| Value::Text(s.to_string());
    let opt = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
    let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(vec![
        text(&row.id),
        Value::Integer(row.time_ms),
        text(&row.timestamp),
        text(&row.request_format),
        opt(&row.app),
        opt(&row.key_name),
        text(&row.query),
        text(&row.strategy),
        text(&row.model),
        text(&row.channel_id),
        text(&row.channel_name),
        text(&row.provider),
        text(&row.status),
        Value::Integer(i64::from(row.http_status)),
        Value::Integer(i64::from(row.stream)),
        int(row.input_tokens),
        int(row.output_tokens),
        int(row.total_tokens),
        int(row.cached_tokens),
        int(row.reasoning_tokens),
        Value::Real(row.input_cost),
        Value::Real(row.output_cost),
        Value::Real(row.total_cost),
        text(&row.cost_currency),
        Value::Integer(i64::from(row.cost_known)),
        Value::Integer(i64::from(row.usage_estimated)),
        int(row.latency_ms),
        row.ttft_ms.map_or(Value::Null, int),
        opt(&row.error),
        Value::Text(attempts),
        opt(&row.route),
        opt(&row.request_body),
        opt(&row.response_body),
    ])
}

fn row_of(r: &Row<'_>, bodies: bool) -> rusqlite::Result<HistoryRow> {
    let attempts: String = r.get("attempts")?;
    let count = |name: &str| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(name)?.max(0) as u64) };
    Ok(HistoryRow {
        id: r.get("id")?,
        time_ms: r.get("time_ms")?,
        timestamp: r.get("timestamp")?,
        request_format: r.get("request_format")?,
        app: r.get("app")?,
        key_name: r.get("key_name")?,
        query: r.get("query")?,
        strategy: r.get("strategy")?,
        model: r.get("model")?,
        channel_id: r.get("channel_id")?,
        channel_name: r.get("channel_name")?,
        provider: r.get("provider")?,
        status: r.get("status")?,
        http_status: r.get("http_status")?,
        stream: r.get("stream")?,
        input_tokens: count("input_tokens")?,
        output_tokens: count("output_tokens")?,
        total_tokens: count("total_tokens")?,
        cached_tokens: count("cached_tokens")?,
        reasoning_tokens: count("reasoning_tokens")?,
        input_cost: r.get("input_cost")?,
        output_cost: r.get("output_cost")?,
        total_cost: r.get("total_cost")?,
        cost_currency: r.get("cost_currency")?,
        cost_known: r.get("cost_known")?,
        usage_estimated: r.get("usage_estimated")?,
        latency_ms: count("latency_ms")?,
        ttft_ms: r.get::<_, Option<i64>>("ttft_ms")?.map(|n| n.max(0) as u64),
        error: r.get("error")?,
        attempts: serde_json::from_str(&attempts).unwrap_or_default(),
        route: r.get("route")?,
        request_body: if bodies { r.get("request_body")? } else { None },
        response_body: if bodies {
            r.get("response_body")?
        } else {
            None
        },
    })
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;

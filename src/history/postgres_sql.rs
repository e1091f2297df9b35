//! The SQL of the PostgreSQL history ([`super::postgres`]): the schema, the statements, and the
//! mapping between rows and [`HistoryRow`] / usage records. Async functions over one client;
//! the store owns the connection, the runtime and the errors' wording.
//!
//! Rules kept here:
//! - The same meaning as the SQLite engine: pages newest first by start time, every filter an
//!   equality (or a time bound), every search word required, counted up to [`COUNT_LIMIT`].
//!   A word is matched with `ILIKE` on the search text (the `pg_trgm` index serves it when it
//!   exists), whatever its length.
//! - PostgreSQL text cannot hold NUL: it is stored as U+FFFD (bodies, errors, the record).
//! - A usage record is placed on the UTC day of its timestamp (`usage::record::utc_date_of`,
//!   as the in-memory aggregates place it); the stats read the days they cover, oldest first,
//!   and add each record with the same code as the logs' rebuild (`RecordView`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::TryStreamExt;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row};

use super::query::COUNT_LIMIT;
use super::{Bucket, HistoryQuery, HistoryRow};
use crate::stats::aggregate::{RecordView, UsageAggregates};
use crate::usage::record::{utc_date_of, CallStatus, UsageRecord};

/// A lock number only this schema's creation takes (two instances starting at once).
const SCHEMA_LOCK: i64 = 0x5a52_6869_7374;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time_ms BIGINT NOT NULL,
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
    stream BOOLEAN NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    total_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    input_cost DOUBLE PRECISION NOT NULL,
    output_cost DOUBLE PRECISION NOT NULL,
    total_cost DOUBLE PRECISION NOT NULL,
    cost_currency TEXT NOT NULL,
    cost_known BOOLEAN NOT NULL,
    usage_estimated BOOLEAN NOT NULL,
    latency_ms BIGINT NOT NULL,
    ttft_ms BIGINT,
    error TEXT,
    attempts JSONB NOT NULL,
    route TEXT,
    request_body TEXT,
    response_body TEXT,
    search_text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time_ms, seq);
CREATE INDEX IF NOT EXISTS requests_model_time ON requests (model, time_ms);
CREATE INDEX IF NOT EXISTS requests_channel_time ON requests (channel_id, time_ms);
CREATE INDEX IF NOT EXISTS requests_status_time ON requests (status, time_ms);
CREATE INDEX IF NOT EXISTS requests_app_time ON requests (app, time_ms);
CREATE TABLE IF NOT EXISTS usage_records (
    request_id TEXT PRIMARY KEY,
    day DATE,
    time_ms BIGINT NOT NULL,
    timestamp TEXT NOT NULL,
    key_name TEXT,
    provider TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    total_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    total_cost DOUBLE PRECISION NOT NULL,
    cost_known BOOLEAN NOT NULL,
    response_time_ms BIGINT NOT NULL,
    record JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_records_day ON usage_records (day, time_ms);
CREATE INDEX IF NOT EXISTS usage_records_key_day ON usage_records (key_name, day);
";

/// Every column but the bodies and the search text (a page of the list).
const SUMMARY_COLUMNS: &str = "r.id, r.time_ms, r.timestamp, r.request_format, r.app, \
    r.key_name, r.query, r.strategy, r.model, r.channel_id, r.channel_name, r.provider, \
    r.status, r.http_status, r.stream, r.input_tokens, r.output_tokens, r.total_tokens, \
    r.cached_tokens, r.reasoning_tokens, r.input_cost, r.output_cost, r.total_cost, \
    r.cost_currency, r.cost_known, r.usage_estimated, r.latency_ms, r.ttft_ms, r.error, \
    r.attempts, r.route";

const INSERT_ROW: &str = "INSERT INTO requests (id, time_ms, timestamp, request_format, app, \
    key_name, query, strategy, model, channel_id, channel_name, provider, status, http_status, \
    stream, input_tokens, output_tokens, total_tokens, cached_tokens, reasoning_tokens, \
    input_cost, output_cost, total_cost, cost_currency, cost_known, usage_estimated, \
    latency_ms, ttft_ms, error, attempts, route, request_body, response_body, search_text) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
    $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34) \
    ON CONFLICT (id) DO NOTHING";

const INSERT_RECORD: &str = "INSERT INTO usage_records (request_id, day, time_ms, timestamp, \
    key_name, provider, channel_id, channel_name, model, status, input_tokens, output_tokens, \
    total_tokens, cached_tokens, reasoning_tokens, total_cost, cost_known, response_time_ms, \
    record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
    $17, $18, $19) ON CONFLICT (request_id) DO NOTHING";

/// Create the tables and indexes when missing, and the trigram index when `pg_trgm` can be
/// had (a role that may not create it gets the plain scan).
pub async fn ensure_schema(client: &Client) -> Result<(), Error> {
    client.batch_execute("BEGIN").await?;
    let created = async {
        client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await?;
        client.batch_execute(SCHEMA).await?;
        client.batch_execute("SAVEPOINT trigram").await?;
        match client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await
        {
            Ok(()) => {
                client
                    .batch_execute(
                        "CREATE INDEX IF NOT EXISTS requests_search ON requests \
                         USING gin (search_text gin_trgm_ops)",
                    )
                    .await
            }
            Err(e) => {
                tracing::info!("request history: no pg_trgm ({e}); search scans the rows");
                client.batch_execute("ROLLBACK TO SAVEPOINT trigram").await
            }
        }
    }
    .await;
    match created {
        Ok(()) => client.batch_execute("COMMIT").await,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Bytes the two tables take, indexes and TOAST included.
pub async fn size_bytes(client: &Client) -> Result<u64, Error> {
    let row = client
        .query_one(
            "SELECT (pg_total_relation_size('requests') \
             + pg_total_relation_size('usage_records'))::BIGINT",
            &[],
        )
        .await?;
    Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
}

/// Store rows and records in one transaction (a row or record already there is kept). The
/// statements are sent together (pipelined): one round trip per batch, not one per row.
/// `search_bodies`: the bodies' text goes into the searched column.
pub async fn insert(
    client: &mut Client,
    rows: &[HistoryRow],
    records: &[UsageRecord],
    search_bodies: bool,
) -> Result<(), Error> {
    let tx = client.transaction().await?;
    let insert_row = tx.prepare(INSERT_ROW).await?;
    let insert_record = tx.prepare(INSERT_RECORD).await?;
    let (tx_ref, row_statement, record_statement) = (&tx, &insert_row, &insert_record);
    let stored_rows = rows
        .iter()
        .map(|row| insert_history_row(tx_ref, row_statement, row, search_bodies));
    futures::future::try_join_all(stored_rows).await?;
    let stored_records = records
        .iter()
        .map(|record| insert_usage_record(tx_ref, record_statement, record));
    futures::future::try_join_all(stored_records).await?;
    tx.commit().await
}

async fn insert_history_row(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &tokio_postgres::Statement,
    row: &HistoryRow,
    search_bodies: bool,
) -> Result<u64, Error> {
    let attempts = without_nul_json(serde_json::to_value(&row.attempts).unwrap_or_default());
    let opt = |s: &Option<String>| s.as_deref().map(|s| text(s).into_owned());
    let (app, key_name, error) = (opt(&row.app), opt(&row.key_name), opt(&row.error));
    let (route, request, response) = (
        opt(&row.route),
        opt(&row.request_body),
        opt(&row.response_body),
    );
    let search = text(&row.search_text(search_bodies)).into_owned();
    let ttft = row.ttft_ms.map(big);
    tx.execute(
        statement,
        &[
            &text(&row.id),
            &row.time_ms,
            &text(&row.timestamp),
            &text(&row.request_format),
            &app,
            &key_name,
            &text(&row.query),
            &text(&row.strategy),
            &text(&row.model),
            &text(&row.channel_id),
            &text(&row.channel_name),
            &text(&row.provider),
            &text(&row.status),
            &i32::from(row.http_status),
            &row.stream,
            &big(row.input_tokens),
            &big(row.output_tokens),
            &big(row.total_tokens),
            &big(row.cached_tokens),
            &big(row.reasoning_tokens),
            &row.input_cost,
            &row.output_cost,
            &row.total_cost,
            &text(&row.cost_currency),
            &row.cost_known,
            &row.usage_estimated,
            &big(row.latency_ms),
            &ttft,
            &error,
            &attempts,
            &route,
            &request,
            &response,
            &search,
        ],
    )
    .await
}

async fn insert_usage_record(
    tx: &tokio_postgres::Transaction<'_>,
    statement: &tokio_postgres::Statement,
    r: &UsageRecord,
) -> Result<u64, Error> {
    let json = without_nul_json(serde_json::to_value(r).unwrap_or_default());
    let day = utc_date_of(&r.timestamp);
    let time_ms = chrono::DateTime::parse_from_rfc3339(&r.timestamp)
        .map(|t| t.timestamp_millis())
        .unwrap_or_default();
    let key_name = r.key_name.as_deref().map(|k| text(k).into_owned());
    tx.execute(
        statement,
        &[
            &text(&r.request_id),
            &day,
            &time_ms,
            &text(&r.timestamp),
            &key_name,
            &text(&r.provider),
            &text(&r.channel_id),
            &text(&r.channel_name),
            &text(&r.model),
            &status_text(r.status),
            &big(r.input_tokens),
            &big(r.output_tokens),
            &big(r.total_tokens),
            &big(r.cached_tokens),
            &big(r.reasoning_tokens),
            &r.total_cost,
            &r.cost_known,
            &big(r.response_time_ms),
            &json,
        ],
    )
    .await
}

/// One page of summaries and the matching rows counted up to `COUNT_LIMIT + 1`.
pub async fn search(
    client: &Client,
    query: &HistoryQuery,
) -> Result<(Vec<HistoryRow>, u64), Error> {
    let (where_clause, values) = filtered(query);
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_sql()).collect();
    let page = format!(
        "SELECT {SUMMARY_COLUMNS} FROM requests r{where_clause} \
         ORDER BY r.time_ms DESC, r.seq DESC LIMIT {} OFFSET {}",
        query.per_page,
        query.offset()
    );
    let mut data = Vec::new();
    for row in client.query(&page, &params).await? {
        data.push(row_of(&row, false)?);
    }
    let counted = format!(
        "SELECT count(*) FROM (SELECT 1 FROM requests r{where_clause} LIMIT {}) AS matched",
        COUNT_LIMIT + 1
    );
    let total: i64 = client.query_one(&counted, &params).await?.try_get(0)?;
    Ok((data, total.max(0) as u64))
}

/// The whole row of one request id.
pub async fn get(client: &Client, request_id: &str) -> Result<Option<HistoryRow>, Error> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, r.request_body, r.response_body FROM requests r WHERE r.id = $1"
    );
    match client.query_opt(&sql, &[&request_id]).await? {
        Some(row) => Ok(Some(row_of(&row, true)?)),
        None => Ok(None),
    }
}

/// Calls per bucket of `width` ms since `from_ms`, oldest first.
pub async fn buckets(client: &Client, from_ms: i64, width: i64) -> Result<Vec<Bucket>, Error> {
    let rows = client
        .query(
            "SELECT time_ms / $2 AS slot, count(*), count(*) FILTER (WHERE status <> 'ok'), \
             coalesce(sum(total_tokens), 0)::BIGINT, \
             coalesce(sum(round(greatest(total_cost, 0) * 1000000000)::BIGINT) \
                 FILTER (WHERE upper(cost_currency) IN ('USD', '')), 0)::BIGINT \
             FROM requests WHERE time_ms >= $1 GROUP BY slot ORDER BY slot",
            &[&from_ms, &width],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Bucket {
                start_ms: r.try_get::<_, i64>(0)? * width,
                requests: r.try_get::<_, i64>(1)?.max(0) as u64,
                errors: r.try_get::<_, i64>(2)?.max(0) as u64,
                tokens: r.try_get::<_, i64>(3)?.max(0) as u64,
                cost: crate::stats::aggregate::nanos_to_usd(r.try_get::<_, i64>(4)?.max(0) as u64),
            })
        })
        .collect()
}

/// The usage records of the days `first..=last`, added up per UTC day (oldest first within a
/// day, so a channel's display name is its latest), read as a stream: memory holds the sums,
/// never the records.
pub async fn usage_by_day(
    client: &Client,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<BTreeMap<NaiveDate, UsageAggregates>, Error> {
    let sql = "SELECT timestamp, provider, channel_id, channel_name, model, key_name, status, \
        input_tokens, output_tokens, total_tokens, cached_tokens, reasoning_tokens, total_cost, \
        cost_known, response_time_ms, day, coalesce(record->>'cost_currency', 'USD') \
        FROM usage_records WHERE day BETWEEN $1 AND $2 \
        ORDER BY day, time_ms, request_id";
    let params: [&(dyn ToSql + Sync); 2] = [&first, &last];
    let rows = client.query_raw(sql, params).await?;
    futures::pin_mut!(rows);
    let mut days: BTreeMap<NaiveDate, UsageAggregates> = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let day: NaiveDate = row.try_get(15)?;
        add_usage_row(days.entry(day).or_default(), &row)?;
    }
    Ok(days)
}

/// Count one row of [`usage_by_day`] in `aggregates`.
fn add_usage_row(aggregates: &mut UsageAggregates, row: &Row) -> Result<(), Error> {
    let count = |i: usize| -> Result<u64, Error> { Ok(row.try_get::<_, i64>(i)?.max(0) as u64) };
    let key_name: Option<&str> = row.try_get(5)?;
    let view = RecordView {
        timestamp: row.try_get(0)?,
        provider: row.try_get(1)?,
        channel_id: row.try_get(2)?,
        channel_name: row.try_get(3)?,
        model: row.try_get(4)?,
        key_name: key_name.unwrap_or(""),
        status: status_of(row.try_get(6)?),
        input_tokens: count(7)?,
        output_tokens: count(8)?,
        total_tokens: count(9)?,
        cached_tokens: count(10)?,
        reasoning_tokens: count(11)?,
        total_cost: row.try_get(12)?,
        cost_currency: row.try_get(16)?,
        cost_known: row.try_get(13)?,
        response_time_ms: Some(count(14)?),
    };
    aggregates.add_view(&view);
    Ok(())
}

/// A value bound to a statement built at run time.
enum Value {
    Text(String),
    Int(i64),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(s) => s,
            Value::Int(n) => n,
        }
    }
}

/// ` WHERE ...` of a query (empty without filters) and its values, `$1` first.
fn filtered(query: &HistoryQuery) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |clause: &str, value: Value, clauses: &mut Vec<String>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    for word in query.words() {
        let like = format!(
            "%{}%",
            text(word)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        bind("r.search_text ILIKE ?", Value::Text(like), &mut clauses);
    }
    let equal = [
        ("r.model = ?", &query.model),
        ("r.channel_id = ?", &query.channel),
        ("r.status = ?", &query.status),
        ("r.app = ?", &query.app),
        ("r.key_name = ?", &query.key),
        ("r.request_format = ?", &query.format),
    ];
    for (clause, value) in equal {
        if let Some(v) = value {
            bind(clause, Value::Text(v.clone()), &mut clauses);
        }
    }
    if let Some(ms) = query.from_ms {
        bind("r.time_ms >= ?", Value::Int(ms), &mut clauses);
    }
    if let Some(ms) = query.to_ms {
        bind("r.time_ms < ?", Value::Int(ms), &mut clauses);
    }
    if clauses.is_empty() {
        return (String::new(), values);
    }
    (format!(" WHERE {}", clauses.join(" AND ")), values)
}

fn row_of(r: &Row, bodies: bool) -> Result<HistoryRow, Error> {
    let count = |name: &str| -> Result<u64, Error> { Ok(r.try_get::<_, i64>(name)?.max(0) as u64) };
    let attempts: serde_json::Value = r.try_get("attempts")?;
    let http_status: i32 = r.try_get("http_status")?;
    Ok(HistoryRow {
        id: r.try_get("id")?,
        time_ms: r.try_get("time_ms")?,
        timestamp: r.try_get("timestamp")?,
        request_format: r.try_get("request_format")?,
        app: r.try_get("app")?,
        key_name: r.try_get("key_name")?,
        query: r.try_get("query")?,
        strategy: r.try_get("strategy")?,
        model: r.try_get("model")?,
        channel_id: r.try_get("channel_id")?,
        channel_name: r.try_get("channel_name")?,
        provider: r.try_get("provider")?,
        status: r.try_get("status")?,
        http_status: u16::try_from(http_status).unwrap_or_default(),
        stream: r.try_get("stream")?,
        input_tokens: count("input_tokens")?,
        output_tokens: count("output_tokens")?,
        total_tokens: count("total_tokens")?,
        cached_tokens: count("cached_tokens")?,
        reasoning_tokens: count("reasoning_tokens")?,
        input_cost: r.try_get("input_cost")?,
        output_cost: r.try_get("output_cost")?,
        total_cost: r.try_get("total_cost")?,
        cost_currency: r.try_get("cost_currency")?,
        cost_known: r.try_get("cost_known")?,
        usage_estimated: r.try_get("usage_estimated")?,
        latency_ms: count("latency_ms")?,
        ttft_ms: r
            .try_get::<_, Option<i64>>("ttft_ms")?
            .map(|n| n.max(0) as u64),
        error: r.try_get("error")?,
        attempts: serde_json::from_value(attempts).unwrap_or_default(),
        route: r.try_get("route")?,
        request_body: if bodies {
            r.try_get("request_body")?
        } else {
            None
        },
        response_body: if bodies {
            r.try_get("response_body")?
        } else {
            None
        },
    })
}

/// A count as PostgreSQL's BIGINT (saturating).
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Text PostgreSQL accepts: NUL becomes U+FFFD.
fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A JSON value whose strings PostgreSQL's JSONB accepts (no `\u0000`).
fn without_nul_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::String(s) if s.contains('\0') => J::String(s.replace('\0', "\u{FFFD}")),
        J::Array(items) => J::Array(items.into_iter().map(without_nul_json).collect()),
        J::Object(map) => J::Object(
            map.into_iter()
                .map(|(k, v)| (text(&k).into_owned(), without_nul_json(v)))
                .collect(),
        ),
        other => other,
    }
}

fn status_text(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Success => "success",
        CallStatus::Error => "error",
        CallStatus::Cancelled => "cancelled",
    }
}

fn status_of(text: &str) -> CallStatus {
    match text {
        "success" => CallStatus::Success,
        "cancelled" => CallStatus::Cancelled,
        _ => CallStatus::Error,
    }
}

#[cfg(test)]
#[path = "postgres_sql_tests.rs"]
mod tests;

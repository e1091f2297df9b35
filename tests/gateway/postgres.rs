//! The shared history on a real PostgreSQL (`history.url`; the test fails when PostgreSQL is
//! not installed): two instances on the same config and database show each other's calls in
//! `/v1/stats/*` and `/v1/requests` (a Chinese phrase found from the other instance, with its
//! bodies); PostgreSQL stopped mid-run fails no request and shows in `/health`, and rows are
//! stored again once it is back; the password shows nowhere (`/health`, the log, `/config`).
//! The store itself is tested directly too: search, pages, filters, retention, buckets and
//! usage totals.

use std::time::Duration;

use serde_json::{json, Value};
use smart_ai_router::config::Secret;
use smart_ai_router::history::pacer::Pacer;
use smart_ai_router::history::postgres::PostgresStore;
use smart_ai_router::history::{HistoryQuery, HistoryRow, HistoryStore};
use smart_ai_router::usage::record::{CallStatus, UsageRecord};
use tokio::time::Instant;

use crate::support::binary::GatewayProcess;
use crate::support::postgres::PostgresServer;
use crate::support::{write_config, MockUpstream, TestGateway};

const PROMPT_ZH: &str = "请用一句话解释量子计算机的原理，并举一个例子";
const PHRASE_ZH: &str = "量子计算机";

/// One priced channel serving `m1` (12 input and 5 output tokens per echo: 0.022 USD a call).
fn config(pg: &PostgresServer, upstream: &MockUpstream) -> String {
    format!(
        "discovery: {{ enabled: false }}\n\
         history: {{ url: \"{}\" }}\n\
         channels:\n  - {{ id: a, provider: mock, base_url: \"{}\", api_key: sk-pg-test-0001, \
         configured_models: [m1], pricing: {{ input: 1000, output: 2000 }} }}\n",
        pg.url(),
        upstream.base_url()
    )
}

async fn chat(client: &reqwest::Client, base: &str, content: &str) -> (u16, String) {
    let response = client
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": "m1", "messages": [{"role": "user", "content": content}]}))
        .send()
        .await
        .expect("gateway answers");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_string();
    (response.status().as_u16(), id)
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_instances_show_each_others_calls_in_stats_and_history() {
    let pg = PostgresServer::start();
    let upstream = MockUpstream::start(&[]).await;
    let config = config(&pg, &upstream);
    let a = TestGateway::start(&config).await;
    let b = TestGateway::start(&config).await;

    let (status, zh_id) = chat(&a.client, &a.base, PROMPT_ZH).await;
    assert_eq!(status, 200);
    assert_eq!(chat(&a.client, &a.base, "hello from a").await.0, 200);
    assert_eq!(chat(&b.client, &b.base, "hello from b").await.0, 200);
    a.flush_history().await;
    b.flush_history().await;

    // Each instance's own log counts its own calls; the stats of either count all three.
    for gateway in [&a, &b] {
        let (status, daily) = get_json(&gateway.client, &gateway.url("/v1/stats/daily")).await;
        assert_eq!(status, 200, "{daily}");
        let d = &daily["data"];
        assert_eq!(
            (
                &d["total_requests"],
                &d["successful_requests"],
                &d["failed_requests"]
            ),
            (&json!(3), &json!(3), &json!(0)),
            "{daily}"
        );
        assert_eq!(
            (
                &d["total_input_tokens"],
                &d["total_output_tokens"],
                &d["total_tokens"]
            ),
            (&json!(36), &json!(15), &json!(51)),
            "{daily}"
        );
        assert_eq!(d["total_cost"].as_f64(), Some(0.066), "{daily}");
        let (status, top) = get_json(&gateway.client, &gateway.url("/v1/stats/top-models")).await;
        assert_eq!(status, 200, "{top}");
        let models = top["data"]["models"].as_array().expect("models");
        assert_eq!(models.len(), 1, "{top}");
        assert_eq!(
            (
                &models[0]["model"],
                &models[0]["requests"],
                &models[0]["tokens"]
            ),
            (&json!("m1"), &json!(3), &json!(51)),
            "{top}"
        );
    }
    let own = a
        .running
        .as_ref()
        .expect("running")
        .state
        .aggregates
        .read()
        .expect("aggregates")
        .day(chrono::Utc::now().date_naive())
        .map(|d| d.total.requests);
    assert_eq!(own, Some(2), "A's own aggregates hold only A's calls");

    // B finds A's call by a phrase inside its prompt, and returns its bodies.
    let (status, page) = get_json(
        &b.client,
        &b.url(&format!("/v1/requests?search={PHRASE_ZH}")),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, vec![zh_id.as_str()], "{page}");
    assert_eq!(page["total"], 1);
    let (status, all) = get_json(&b.client, &b.url("/v1/requests?per_page=2")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!((&all["total"], &all["has_more"]), (&json!(3), &json!(true)));
    let (status, row) = get_json(&b.client, &b.url(&format!("/v1/requests/{zh_id}"))).await;
    assert_eq!(status, 200, "{row}");
    assert!(row["request_body"]
        .as_str()
        .expect("request body")
        .contains(PROMPT_ZH));
    assert!(row["response_body"]
        .as_str()
        .expect("response body")
        .contains("Hello from the mock."));
    assert_eq!(row["total_cost"].as_f64(), Some(0.022));
    a.stop().await;
    b.stop().await;
}

/// Poll `/health` until the history counts a write error.
async fn wait_write_error(client: &reqwest::Client, base: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, health) = get_json(client, &format!("{base}/health")).await;
        if health["history"]["write_errors"].as_u64().unwrap_or(0) > 0 {
            return health;
        }
        assert!(Instant::now() < deadline, "no write error shown: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll `GET /v1/requests/{id}` until it is stored.
async fn wait_stored(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, row) = get_json(client, &format!("{base}/v1/requests/{id}")).await;
        if status == 200 {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never stored: {status} {row}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A PostgreSQL server, a mock upstream, and a config folder for a gateway on both.
async fn pg_and_config() -> (PostgresServer, MockUpstream, tempfile::TempDir) {
    let pg = PostgresServer::start();
    let upstream = MockUpstream::start(&[]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &config(&pg, &upstream));
    (pg, upstream, dir)
}

#[tokio::test]
async fn postgres_down_fails_no_request_and_the_password_shows_nowhere() {
    let (mut pg, _upstream, dir) = pg_and_config().await;
    let gateway = GatewayProcess::start(&dir.path().join("config"), None).await;
    let client = reqwest::Client::new();
    let base = gateway.base.clone();

    let (status, first) = chat(&client, &base, "before the outage").await;
    assert_eq!(status, 200);
    wait_stored(&client, &base, &first).await;

    pg.stop();
    let mut during = Vec::new();
    for n in 0..3 {
        let (status, id) = chat(&client, &base, &format!("during the outage {n}")).await;
        assert_eq!(status, 200, "a request failed while PostgreSQL was down");
        during.push(id);
    }
    let health = wait_write_error(&client, &base).await;
    let last_error = health["history"]["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("PostgreSQL"), "{health}");
    assert_eq!(health["history"]["engine"], "postgres");

    pg.restart();
    let (status, after) = chat(&client, &base, "after the outage").await;
    assert_eq!(status, 200);
    let row = wait_stored(&client, &base, &after).await;
    assert_eq!(row["status"], "ok");
    // The calls made during the outage waited in the spool and are stored too.
    for id in &during {
        let row = wait_stored(&client, &base, id).await;
        assert!(
            row["request_body"]
                .as_str()
                .is_some_and(|b| b.contains("during the outage")),
            "{row}"
        );
    }

    let (_, health) = get_json(&client, &format!("{base}/health")).await;
    let config_page = client
        .get(format!("{base}/config"))
        .send()
        .await
        .expect("config page")
        .text()
        .await
        .expect("html");
    let masked = format!("postgres://***@127.0.0.1:{}/sar_history", pg.port);
    assert!(config_page.contains(&masked), "{config_page}");
    let log = gateway.log.lock().expect("log").join("\n");
    for (place, text) in [
        ("/health", health.to_string()),
        ("/config", config_page),
        ("the log", log.clone()),
    ] {
        assert!(
            !text.contains(PostgresServer::PASSWORD),
            "the password shows in {place}"
        );
    }
    assert!(
        log.contains("request history"),
        "the outage is logged: {log}"
    );
}

#[tokio::test]
async fn a_refused_password_is_named_and_the_history_answers_503() {
    let pg = PostgresServer::start();
    let upstream = MockUpstream::start(&[]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = "not-the-password-4711";
    let text = config(&pg, &upstream).replace(&pg.url(), &pg.url_as("sar", wrong));
    write_config(dir.path(), &text);
    let gateway = GatewayProcess::start(&dir.path().join("config"), None).await;
    let client = reqwest::Client::new();
    let base = gateway.base.clone();
    let (status, _) = chat(&client, &base, "the call is served anyway").await;
    assert_eq!(status, 200);
    let (status, body) = get_json(&client, &format!("{base}/v1/requests")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "history_unavailable");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    let health = wait_write_error(&client, &base).await;
    assert!(
        health["history"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("password authentication failed")),
        "{health}"
    );
    let log = gateway.log.lock().expect("log").join("\n");
    for text in [body.to_string(), health.to_string(), log] {
        assert!(!text.contains(wrong), "the password shows: {text}");
    }
}

#[tokio::test]
async fn a_call_made_while_postgres_is_down_survives_a_killed_gateway() {
    let (mut pg, _upstream, dir) = pg_and_config().await;
    let config_dir = dir.path().join("config");
    let gateway = GatewayProcess::start(&config_dir, None).await;
    let client = reqwest::Client::new();

    pg.stop();
    let (status, id) = chat(&client, &gateway.base, "kept through a crash").await;
    assert_eq!(status, 200);
    // The importer tried, was refused, and keeps the row in the spool. (Its first retention
    // pass, at start and at idle priority, may fail first: wait for the rows' refusal.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        let (_, health) = get_json(&client, &format!("{}/health", gateway.base)).await;
        let refused = health["history"]["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot store rows"));
        if refused {
            break health;
        }
        assert!(Instant::now() < deadline, "no refusal shown: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let spooled = health["history"]["spool_bytes"].as_u64().unwrap_or(0);
    assert!(spooled > 0, "{health}");
    assert_eq!(health["history"]["stored"], 0, "{health}");
    gateway.kill();
    assert!(!gateway.exit_within(Duration::from_secs(10)).await.success());

    pg.restart();
    let gateway = GatewayProcess::start(&config_dir, None).await;
    let row = wait_stored(&client, &gateway.base, &id).await;
    assert!(
        row["request_body"]
            .as_str()
            .is_some_and(|b| b.contains("kept through a crash")),
        "{row}"
    );
    // The row is readable once its transaction commits; the importer marks it consumed just
    // after (at idle priority, so on a busy machine a moment later).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, health) = get_json(&client, &format!("{}/health", gateway.base)).await;
        if health["history"]["spool_bytes"] == 0 || Instant::now() >= deadline {
            assert_eq!(health["history"]["spool_bytes"], 0, "{health}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway.terminate();
    assert!(gateway.exit_within(Duration::from_secs(10)).await.success());
}

fn record(id: &str, timestamp: &str, status: CallStatus, key: Option<&str>) -> UsageRecord {
    UsageRecord {
        timestamp: timestamp.into(),
        request_id: id.into(),
        query: "m1".into(),
        model: "m1".into(),
        channel_id: "a".into(),
        channel_name: "A".into(),
        provider: "mock".into(),
        status,
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        total_cost: 0.25,
        response_time_ms: 100,
        key_name: key.map(str::to_string),
        ..UsageRecord::default()
    }
}

fn row_of(record: &UsageRecord, body: &str) -> HistoryRow {
    let mut row = HistoryRow::build(
        record.clone(),
        None,
        &smart_ai_router::history::row::BodyPolicy {
            capture: true,
            max_bytes: 1000,
            secrets: Default::default(),
        },
    );
    row.request_body = Some(body.to_string());
    // The key name of a row comes with the call's details, as the writer builds it.
    row.key_name = record.key_name.clone();
    row
}

/// The store on its own: what SQLite answers, PostgreSQL answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_searches_pages_and_totals_like_sqlite() {
    let pg = PostgresServer::start();
    let url = Secret::new(pg.url());
    let handle = tokio::runtime::Handle::current();
    let checked = tokio::task::spawn_blocking(move || {
        let store = PostgresStore::open(&url, handle.clone()).expect("open");
        let records = [
            record("r1", "2026-11-20T23:59:59.000Z", CallStatus::Success, None),
            record(
                "r2",
                "2026-11-21T00:00:01.000Z",
                CallStatus::Error,
                Some("team"),
            ),
            record(
                "r3",
                "2026-11-21T10:00:00.000+02:00",
                CallStatus::Success,
                None,
            ),
        ];
        let rows = [
            row_of(&records[0], PROMPT_ZH),
            row_of(&records[1], "a body with a NUL \0 inside"),
            row_of(&records[2], "50% off_sale"),
        ];
        store
            .insert_calls(&rows, &records, &mut Pacer::unpaced())
            .expect("insert");
        // Stored twice (a retried batch): kept once.
        store
            .insert_calls(&rows, &records, &mut Pacer::unpaced())
            .expect("insert again");

        let query = |pairs: &[(&str, &str)]| {
            let params = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let q = HistoryQuery::from_params(&params).expect("query");
            let page = store.search(&q).expect("search");
            let ids: Vec<String> = page.data.iter().map(|r| r.id.clone()).collect();
            (ids, page.total, page.has_more)
        };
        assert_eq!(
            query(&[]),
            (vec!["r3".into(), "r2".into(), "r1".into()], 3, false)
        );
        assert_eq!(
            query(&[("search", PHRASE_ZH)]),
            (vec!["r1".into()], 1, false)
        );
        assert_eq!(query(&[("search", "% off")]), (vec!["r3".into()], 1, false));
        assert_eq!(query(&[("search", "子")]), (vec!["r1".into()], 1, false));
        assert_eq!(query(&[("status", "error")]), (vec!["r2".into()], 1, false));
        assert_eq!(query(&[("key", "team")]), (vec!["r2".into()], 1, false));
        assert_eq!(
            query(&[("per_page", "1"), ("page", "2")]),
            (vec!["r2".into()], 3, true)
        );
        assert_eq!(
            query(&[("from", "2026-11-21"), ("to", "2026-11-21")]),
            (vec!["r3".into(), "r2".into()], 2, false)
        );
        let r2 = store.get("r2").expect("get").expect("r2 stored");
        assert_eq!(
            r2.request_body.as_deref(),
            Some("a body with a NUL \u{FFFD} inside")
        );
        assert_eq!(store.get("nope").expect("get"), None);

        let buckets = store.buckets(0, 86_400_000).expect("buckets");
        let shown: Vec<(u64, u64, u64)> = buckets
            .iter()
            .map(|b| (b.requests, b.errors, b.tokens))
            .collect();
        assert_eq!(shown, vec![(1, 0, 15), (2, 1, 30)]);

        let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
        let usage = store
            .usage_between(day("2026-11-21"), day("2026-11-21"))
            .expect("usage")
            .expect("kept");
        let total = &usage.day(day("2026-11-21")).expect("the 21st").total;
        assert_eq!(
            (
                total.requests,
                total.failed_requests,
                total.total_tokens,
                total.cost_nanos
            ),
            (2, 1, 30, 500_000_000)
        );
        assert!(usage.day(day("2026-11-20")).is_none());
        let team = store
            .usage_between(day("2026-11-01"), day("2026-11-30"))
            .expect("usage")
            .expect("kept");
        assert_eq!(
            team.for_key("team")
                .between(day("2026-11-01"), day("2026-11-30"))
                .total
                .requests,
            1
        );
        assert!(store.size_bytes() > 0);

        let cut = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")
            .expect("time")
            .timestamp_millis();
        assert_eq!(store.delete_before(cut).expect("delete"), 1);
        assert_eq!(query(&[]).1, 2);

        // `history.search_bodies: false`: the body is kept, not searched; the rest is.
        let unsearched = PostgresStore::open(&url, handle)
            .expect("open")
            .with_body_search(false);
        let r4 = record("r4", "2026-11-22T08:00:00.000Z", CallStatus::Success, None);
        unsearched
            .insert_calls(
                &[row_of(&r4, "an unsearched-marker body")],
                std::slice::from_ref(&r4),
                &mut Pacer::unpaced(),
            )
            .expect("insert");
        assert_eq!(query(&[("search", "unsearched-marker")]).1, 0);
        assert_eq!(query(&[]).1, 3);
        let kept = store.get("r4").expect("get").expect("r4 stored");
        assert_eq!(
            kept.request_body.as_deref(),
            Some("an unsearched-marker body")
        );
    })
    .await;
    checked.expect("the checks pass");
    // The schema holds the trigram index (pg_trgm ships with Debian's server).
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'requests_search'"),
        "1"
    );
}

/// A role that may not create `pg_trgm` still gets a working history: search scans the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pg_trgm_search_still_finds_a_phrase() {
    let pg = PostgresServer::start();
    pg.sql(
        "CREATE ROLE limited LOGIN PASSWORD 'limited-pw'; GRANT CREATE ON SCHEMA public TO limited",
    );
    let url = Secret::new(pg.url_as("limited", "limited-pw"));
    let handle = tokio::runtime::Handle::current();
    let found = tokio::task::spawn_blocking(move || {
        let store = PostgresStore::open(&url, handle).expect("open");
        let records = [
            record("z1", "2026-11-21T10:00:00.000Z", CallStatus::Success, None),
            record("z2", "2026-11-21T11:00:00.000Z", CallStatus::Success, None),
        ];
        let rows = [row_of(&records[0], PROMPT_ZH), row_of(&records[1], "plain")];
        store
            .insert_calls(&rows, &records, &mut Pacer::unpaced())
            .expect("insert");
        let params = [("search".to_string(), PHRASE_ZH.to_string())].into();
        let query = HistoryQuery::from_params(&params).expect("query");
        let page = store.search(&query).expect("search");
        page.data.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
    })
    .await
    .expect("searched");
    assert_eq!(found, vec!["z1".to_string()]);
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"),
        "0"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'requests_search'"),
        "0"
    );
}

/// `SAR_HISTORY__URL` sets `history.url` as every other key; `check` shows it masked, and a
/// URL of another kind is refused without being echoed.
#[test]
fn the_url_comes_from_the_environment_and_is_shown_masked() {
    let dir = tempfile::tempdir().expect("dir");
    write_config(dir.path(), "discovery: { enabled: false }\n");
    let check = |url: &str| {
        let output = crate::support::binary()
            .arg("--config-dir")
            .arg(dir.path().join("config"))
            .arg("check")
            .env("SAR_HISTORY__URL", url)
            .output()
            .expect("run check");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, err) = check("postgres://router:pw-Very-Secret-1@db.internal:5432/history");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.ends_with(
            "history: shared on PostgreSQL postgres://***@db.internal:5432/history \
             (requests and usage records)\n"
        ),
        "{out}"
    );
    let (code, out, err) = check("mysql://router:pw-Very-Secret-1@db.internal/history");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains("history.url: must be a postgres:// URL"),
        "{err}"
    );
    for text in [out, err] {
        assert!(!text.contains("pw-Very-Secret-1"), "{text}");
    }
    // A URL `serve` could not use is refused by `check` too, with the reason, not the value.
    let (code, out, err) = check("postgres://router:pw-Very-Secret-1@[::1/history");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains("history.url: does not parse as a URL (invalid IPv6 address)"),
        "{err}"
    );
    for text in [out, err] {
        assert!(!text.contains("pw-Very-Secret-1"), "{text}");
    }
}

/// Figures for docs/history.md, not a check: `cargo test --test gateway
/// postgres::measure -- --ignored --nocapture` fills 20,000 calls (rows and usage records,
/// bodies of about 400 bytes, one in ten with a Chinese phrase) and times the writes and reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn measure_the_postgres_store() {
    const CALLS: usize = 20_000;
    let pg = PostgresServer::start();
    let url = Secret::new(pg.url());
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let store = PostgresStore::open(&url, handle).expect("open");
        let started = std::time::Instant::now();
        for batch in 0..CALLS / 500 {
            let records: Vec<UsageRecord> = (0..500)
                .map(|i| {
                    let n = batch * 500 + i;
                    let second = n % 86_400;
                    let at = format!(
                        "2026-11-21T{:02}:{:02}:{:02}.000Z",
                        second / 3600,
                        second / 60 % 60,
                        second % 60
                    );
                    record(&format!("req-{n}"), &at, CallStatus::Success, None)
                })
                .collect();
            let rows: Vec<HistoryRow> = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let topic = if i % 10 == 0 {
                        PROMPT_ZH
                    } else {
                        "an ordinary prompt"
                    };
                    row_of(
                        r,
                        &format!("{topic} {}", "lorem ipsum dolor sit amet ".repeat(14)),
                    )
                })
                .collect();
            store
                .insert_calls(&rows, &records, &mut Pacer::unpaced())
                .expect("insert");
        }
        let filled = started.elapsed();
        println!(
            "filled {CALLS} calls in {filled:?}: {:.0} calls/s (batches of 500, rows + records)",
            CALLS as f64 / filled.as_secs_f64()
        );
        let time = |label: &str, pairs: &[(&str, &str)]| {
            let params = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let q = HistoryQuery::from_params(&params).expect("query");
            let mut times: Vec<std::time::Duration> = (0..10)
                .map(|_| {
                    let at = std::time::Instant::now();
                    store.search(&q).expect("search");
                    at.elapsed()
                })
                .collect();
            times.sort();
            println!("{label}: median {:?}, worst {:?}", times[5], times[9]);
        };
        time("newest page", &[]);
        time("page 100", &[("page", "100")]);
        time(
            "search, a Chinese phrase (2,000 rows)",
            &[("search", PHRASE_ZH)],
        );
        time("search, a word in no row", &[("search", "zebra")]);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("day");
        for read in ["first read", "kept (a settled day)"] {
            let at = std::time::Instant::now();
            let usage = store.usage_between(day, day).expect("usage").expect("kept");
            println!(
                "stats of one day ({} records), {read}: {:?}",
                usage.day(day).map_or(0, |d| d.total.requests),
                at.elapsed()
            );
        }
    })
    .await
    .expect("measured");
    let size = "SELECT pg_size_pretty(pg_total_relation_size('requests') \
                + pg_total_relation_size('usage_records'))";
    println!("size of both tables: {}", pg.sql(size));
}

use super::*;
use crate::history::AttemptLog;

fn row(id: &str, time_ms: i64, model: &str, status: &str, request: &str) -> HistoryRow {
    HistoryRow {
        id: id.into(),
        timestamp: "2026-11-21T12:00:00.000Z".into(),
        time_ms,
        request_format: "chat".into(),
        app: Some("bench-app".into()),
        key_name: None,
        query: model.into(),
        strategy: "balanced".into(),
        model: model.into(),
        channel_id: "c1".into(),
        channel_name: "Channel 1".into(),
        provider: "mock".into(),
        status: status.into(),
        http_status: 200,
        stream: false,
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        cached_tokens: 0,
        reasoning_tokens: 0,
        input_cost: 0.001,
        output_cost: 0.002,
        total_cost: 0.003,
        cost_currency: "USD".into(),
        cost_known: true,
        usage_estimated: false,
        latency_ms: 42,
        ttft_ms: Some(7),
        error: None,
        attempts: vec![AttemptLog {
            channel: "c1".into(),
            model: model.into(),
            http_status: Some(200),
            error_class: "success".into(),
            duration_ms: 40,
            message: None,
        }],
        route: Some("c1/m 0.9\n".into()),
        request_body: Some(request.into()),
        response_body: Some("{\"ok\":true}".into()),
    }
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&dir.path().join("sub/history.db")).expect("opens");
    (dir, store)
}

fn query(pairs: &[(&str, &str)]) -> HistoryQuery {
    let params = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    HistoryQuery::from_params(&params).expect("query parses")
}

fn ids(page: &HistoryPage) -> Vec<&str> {
    page.data.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn search_finds_a_chinese_phrase_inside_a_prompt() {
    let (_dir, store) = store();
    store
        .insert(&[
            row(
                "a",
                1,
                "gpt",
                "ok",
                r#"{"content":"请解释量子计算机的原理"}"#,
            ),
            row("b", 2, "gpt", "ok", r#"{"content":"tell me a joke"}"#),
        ])
        .expect("insert");
    let page = store
        .search(&query(&[("search", "量子计算")]))
        .expect("search");
    assert_eq!(ids(&page), vec!["a"]);
    assert_eq!(page.total, 1);
    assert_eq!(page.data[0].request_body, None, "pages carry no bodies");
    let page = store.search(&query(&[("search", "JOKE")])).expect("search");
    assert_eq!(ids(&page), vec!["b"], "search ignores case");
    // A two-character word is below the trigram size: matched by a scan.
    let page = store.search(&query(&[("search", "量子")])).expect("search");
    assert_eq!(ids(&page), vec!["a"]);
}

#[test]
fn a_short_word_is_found_escaped_and_punctuation_alone_is_no_filter() {
    let (_dir, store) = store();
    let mut other_channel = row("c", 3, "gpt", "ok", r#"{"content":"plain"}"#);
    other_channel.channel_id = "zq".into();
    store
        .insert(&[
            // As Python's `json.dumps` sends it: `电子` escaped, and an emoji as a pair.
            row(
                "a",
                1,
                "gpt",
                "ok",
                r#"{"content":"\u7535\u5B50 \ud83d\ude00"}"#,
            ),
            row("b", 2, "gpt", "ok", r#"{"content":"电子"}"#),
            other_channel,
        ])
        .expect("insert");
    let found = |search: &str| {
        store
            .search(&query(&[("search", search)]))
            .map(|page| ids(&page).iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("search")
    };
    assert_eq!(found("电子"), ["b", "a"]);
    assert_eq!(found("😀"), ["a"]);
    // The channel is searched like the model and the app.
    assert_eq!(found("zq"), ["c"]);
    // A lone `-` or `:` would match every body's punctuation: it is left out of the search.
    assert_eq!(found(":"), ["c", "b", "a"]);
    assert_eq!(found(": 电子"), ["b", "a"]);
}

#[test]
fn filters_and_pages_newest_first() {
    let (_dir, store) = store();
    let rows: Vec<HistoryRow> = (0..5)
        .map(|i| {
            let status = if i % 2 == 0 { "ok" } else { "error" };
            row(&format!("r{i}"), 1000 + i, "m", status, "hello world")
        })
        .collect();
    store.insert(&rows).expect("insert");
    let page = store
        .search(&query(&[("per_page", "2"), ("page", "1")]))
        .expect("page 1");
    assert_eq!(ids(&page), vec!["r4", "r3"]);
    assert_eq!((page.total, page.has_more), (5, true));
    let page = store
        .search(&query(&[("per_page", "2"), ("page", "3")]))
        .expect("page 3");
    assert_eq!(ids(&page), vec!["r0"]);
    assert!(!page.has_more);
    let page = store
        .search(&query(&[("status", "error"), ("search", "hello")]))
        .expect("errors");
    assert_eq!(ids(&page), vec!["r3", "r1"]);
    let page = store
        .search(&query(&[("from", "1002"), ("to", "1004")]))
        .expect("range");
    assert_eq!(ids(&page), vec!["r3", "r2"]);
}

#[test]
fn get_returns_the_whole_row_and_retention_deletes_old_ones() {
    let (_dir, store) = store();
    let original = row("keep", 5000, "m", "ok", "{\"a\":1}");
    store
        .insert(&[row("old", 10, "m", "ok", "ancient text"), original.clone()])
        .expect("insert");
    assert_eq!(store.get("keep").expect("get"), Some(original));
    assert_eq!(store.delete_before(100).expect("delete"), 1);
    assert_eq!(store.get("old").expect("get"), None);
    let page = store
        .search(&query(&[("search", "ancient")]))
        .expect("search");
    assert!(page.data.is_empty(), "the index forgets deleted rows");
    let buckets = store.buckets(0, 1000).expect("buckets");
    assert_eq!(buckets.len(), 1);
    assert_eq!((buckets[0].start_ms, buckets[0].requests), (5000, 1));
}

#[cfg(unix)]
#[test]
fn the_database_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("data/history.db");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    {
        let store = SqliteStore::open(&path).expect("opens");
        store
            .insert(&[row("req_1", 1, "m", "ok", "hello")])
            .expect("insert");
        assert_eq!(mode(&path), Some(0o600));
        assert_eq!(mode(&dir.path().join("data/history.db-wal")), Some(0o600));
        assert_eq!(mode(&dir.path().join("data")), Some(0o700));
    }
    // A database an older version created readable by others is closed at the next open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let _store = SqliteStore::open(&path).expect("opens");
    assert_eq!(mode(&path), Some(0o600));
}

#[test]
fn buckets_count_failed_calls_and_sum_cost_without_drift() {
    let (_dir, store) = store();
    let priced = |id: &str, status: &str, cost: f64| HistoryRow {
        total_cost: cost,
        ..row(id, 1000, "m", status, "{}")
    };
    store
        .insert(&[
            priced("a", "ok", 0.1),
            priced("b", "error", 0.2),
            priced("c", "cancelled", 0.0),
        ])
        .expect("insert");
    let buckets = store.buckets(0, 3_600_000).expect("buckets");
    assert_eq!(buckets.len(), 1);
    // An error and a cancelled call, as the daily figures' failed_requests count them; and
    // 0.1 + 0.2 summed in nano-USD is 0.3, not 0.30000000000000004.
    assert_eq!((buckets[0].requests, buckets[0].errors), (3, 2));
    assert_eq!(buckets[0].cost, 0.3);
}

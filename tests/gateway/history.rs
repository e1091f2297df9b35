//! The request history through the real gateway: every routed call (chat, stream, completion,
//! embedding, failed) is stored with its app, attempts, tokens, cost and bodies; `GET
//! /v1/requests` finds it by full-text search (a Chinese phrase inside a prompt too) and
//! filters, in pages; `GET /v1/requests/{id}` and `/api/requests/{id}` return the whole row;
//! secrets never reach the database; bodies are cut with a marker or not kept; a database that
//! cannot be opened fails no request and shows in `/health`; rows past the retention go at
//! start.

use serde_json::{json, Value};

use crate::support::{MockUpstream, Reply, TestGateway};

const KEY_A: &str = "sk-history-key-aaaa-0001";
const KEY_B: &str = "sk-history-key-bbbb-0002";
const ADMIN: &str = "admin-token-for-history-tests";
const PROMPT_ZH: &str = "请用一句话解释量子计算机的原理";

struct Setup {
    gateway: TestGateway,
    a: MockUpstream,
    b: MockUpstream,
}

/// Channels `a` (tried first) and `b`, both serving `m1` and `text-embedding-3-small`, priced; `extra` is more
/// top-level YAML (e.g. a `history:` section).
async fn setup(extra: &str) -> Setup {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let channel = |id: &str, url: &str, key: &str, priority: i32| {
        format!(
            "  - {{ id: {id}, provider: mock, base_url: \"{url}\", api_key: \"{key}\", \
             priority: {priority}, configured_models: [m1, text-embedding-3-small], \
             pricing: {{ input: 1000, output: 2000 }} }}\n"
        )
    };
    let config = format!(
        "discovery: {{ enabled: false }}\n\
         routing:\n  default_strategy: flat\n  sorting_strategies:\n    flat: [ {{ field: free_score, weight: 1.0 }} ]\n\
         {extra}\
         channels:\n{}{}",
        channel("a", &a.base_url(), KEY_A, 0),
        channel("b", &b.base_url(), KEY_B, 1),
    );
    let gateway = TestGateway::start(&config).await;
    Setup { gateway, a, b }
}

async fn send(
    gateway: &TestGateway,
    path: &str,
    body: Value,
    title: Option<&str>,
) -> (u16, String, String) {
    let mut request = gateway.client.post(gateway.url(path)).json(&body);
    if let Some(title) = title {
        request = request.header("X-Title", title);
    }
    send_request(request).await
}

/// Send a prepared request: its status, request id and body.
async fn send_request(request: reqwest::RequestBuilder) -> (u16, String, String) {
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_string();
    (status, id, response.text().await.expect("body"))
}

async fn search(gateway: &TestGateway, query: &str) -> Value {
    gateway.flush_history().await;
    let response = gateway.get(&format!("/v1/requests?{query}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON page")
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn every_routed_call_is_stored_and_found() {
    let s = setup("").await;
    let g = &s.gateway;
    // 1. Chat with a Chinese prompt: `a` fails with a 500, `b` answers.
    s.a.push(Reply::error(500, "upstream exploded"));
    let chat = json!({"model": "m1", "messages": [{"role": "user", "content": PROMPT_ZH}]});
    let (status, chat_id, _) = send(g, "/v1/chat/completions", chat, Some("My App")).await;
    assert_eq!(status, 200);
    let health: Value = g.get("/health").await.json().await.expect("JSON");
    assert_eq!(health["history"]["engine"], "sqlite");
    // 2. A stream.
    let stream = json!({"model": "m1", "stream": true, "messages": [{"role": "user", "content": "stream please"}]});
    let (status, stream_id, _) = send(g, "/v1/chat/completions", stream, None).await;
    assert_eq!(status, 200);
    // 3. A completion and an embedding.
    let (_, completion_id, _) = send(
        g,
        "/v1/completions",
        json!({"model": "m1", "prompt": "once upon"}),
        None,
    )
    .await;
    let embedding = json!({"model": "text-embedding-3-small", "input": "vectorise me"});
    let (status, embedding_id, _) = send(g, "/v1/embeddings", embedding, None).await;
    assert_eq!(status, 200);
    // 4. A call every channel fails.
    s.a.push(Reply::error(503, "a is down"));
    s.b.push(Reply::error(503, "b is down"));
    let failing =
        json!({"model": "m1", "messages": [{"role": "user", "content": "doomed request"}]});
    let (status, failed_id, _) = send(g, "/v1/chat/completions", failing, None).await;
    assert_eq!(status, 502);

    let row = g.history_row(&chat_id, None).await;
    assert_eq!(row["status"], "ok");
    assert_eq!(row["app"], "My App");
    assert_eq!(row["request_format"], "openai_chat");
    assert_eq!(
        (row["channel_id"].as_str(), row["model"].as_str()),
        (Some("b"), Some("m1"))
    );
    assert_eq!(
        (row["input_tokens"].as_u64(), row["output_tokens"].as_u64()),
        (Some(12), Some(5))
    );
    assert_eq!(row["total_cost"].as_f64(), Some(0.022));
    assert_eq!(row["cost_known"], true);
    assert!(row["request_body"]
        .as_str()
        .expect("request body")
        .contains(PROMPT_ZH));
    assert!(row["response_body"]
        .as_str()
        .expect("response body")
        .contains("Hello from the mock."));
    let attempts = row["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[0]["channel"].as_str(),
            attempts[0]["error_class"].as_str()
        ),
        (Some("a"), Some("server_error"))
    );
    assert_eq!(attempts[0]["http_status"], 500);
    assert_eq!(
        (
            attempts[1]["channel"].as_str(),
            attempts[1]["error_class"].as_str()
        ),
        (Some("b"), Some("success"))
    );
    assert!(row["route"].as_str().expect("route").starts_with("a/m1 "));
    // The recorder's path returns the same row.
    let alias: Value = g
        .get(&format!("/api/requests/{chat_id}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(alias, row);

    let streamed = g.history_row(&stream_id, None).await;
    assert_eq!(streamed["stream"], true);
    assert_eq!(streamed["response_body"], "Hello from the mock.");
    assert_eq!(
        g.history_row(&completion_id, None).await["request_format"],
        "openai_completion"
    );
    assert_eq!(
        g.history_row(&embedding_id, None).await["request_format"],
        "openai_embedding"
    );
    let failed = g.history_row(&failed_id, None).await;
    assert_eq!(
        (failed["status"].as_str(), failed["http_status"].as_u64()),
        (Some("error"), Some(502))
    );
    assert_eq!(failed["attempts"].as_array().map(Vec::len), Some(2));

    // Search: a phrase inside the Chinese prompt, then filters and pages.
    let page = search(g, &format!("search={}", "量子计算机")).await;
    assert_eq!(ids(&page), vec![chat_id.clone()]);
    assert_eq!(
        ids(&search(g, "search=doomed&status=error").await),
        vec![failed_id.clone()]
    );
    assert_eq!(
        ids(&search(g, "format=openai_embedding").await),
        vec![embedding_id.clone()]
    );
    assert_eq!(ids(&search(g, "app=My%20App").await), vec![chat_id.clone()]);
    assert_eq!(
        ids(&search(g, "search=exploded").await),
        vec![chat_id.clone()],
        "attempt errors are searchable"
    );
    let all = search(g, "per_page=2&page=1").await;
    assert_eq!(
        (all["total"].as_u64(), all["has_more"].as_bool()),
        (Some(5), Some(true))
    );
    assert_eq!(ids(&all), vec![failed_id.clone(), embedding_id.clone()]);
    let last = search(g, "per_page=2&page=3").await;
    assert_eq!(last["has_more"], false);
    let bad = g.get("/v1/requests?status=fine").await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.expect("error JSON");
    assert_eq!(body["error"]["param"], "status");
    assert_eq!(g.get("/v1/requests/req_nope").await.status(), 404);
}

#[tokio::test]
async fn the_history_needs_the_admin_token_and_never_stores_a_secret() {
    let extra = format!("auth: {{ enabled: true, api_token: \"api-token-history-0001\", admin_token: \"{ADMIN}\" }}\n");
    let s = setup(&extra).await;
    let g = &s.gateway;
    let body = json!({"model": "m1", "messages": [{"role": "user", "content": "my key is sk-proj-abcdefghijklmnop123456 keep it"}]});
    let (status, id, _) = send_request(
        g.client
            .post(g.url("/v1/chat/completions"))
            .bearer_auth("api-token-history-0001")
            .json(&body),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(g.get("/v1/requests").await.status(), 401);
    let api_only = g
        .client
        .get(g.url("/v1/requests"))
        .bearer_auth("api-token-history-0001")
        .send()
        .await
        .expect("answers");
    assert_eq!(api_only.status(), 403);
    let row = g.history_row(&id, Some(ADMIN)).await;
    let stored = row["request_body"].as_str().expect("body");
    assert!(stored.contains("my key is [REDACTED] keep it"), "{stored}");
    // The gateway's own tokens are taken out whatever their shape (these two are not shaped
    // like keys), from the body and from the app name alike.
    let leaky = json!({"model": "m1", "messages": [{"role": "user", "content": format!("admin {ADMIN} and api api-token-history-0001 pasted")}]});
    let (status, leaky_id, _) = send_request(
        g.client
            .post(g.url("/v1/chat/completions"))
            .bearer_auth("api-token-history-0001")
            .header("X-Title", format!("tool {ADMIN}"))
            .json(&leaky),
    )
    .await;
    assert_eq!(status, 200);
    let row = g.history_row(&leaky_id, Some(ADMIN)).await;
    let stored = row["request_body"].as_str().expect("body");
    assert!(
        stored.contains("admin [REDACTED] and api [REDACTED] pasted"),
        "{stored}"
    );
    assert_eq!(row["app"], "tool [REDACTED]");
    g.flush_history().await;
    let path = g.dir.path().join("data/history.db");
    let mut bytes = std::fs::read(&path).expect("database file");
    bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
    // The spool's segment still holds the rows it handed to the database.
    let spool = g.dir.path().join("data/history.db.spool");
    let mut segments = 0;
    for entry in std::fs::read_dir(&spool).expect("spool folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "spool") {
            continue;
        }
        let segment = std::fs::read(&path).expect("segment file");
        assert!(
            memchr::memmem::find(&segment, b"my key is [REDACTED] keep it").is_some(),
            "the row is in the spool"
        );
        bytes.extend(segment);
        segments += 1;
    }
    assert_eq!(segments, 1);
    assert!(memchr::memmem::find(&bytes, b"tool [REDACTED]").is_some());
    for secret in [
        "sk-proj-abcdefghijklmnop123456",
        "api-token-history-0001",
        ADMIN,
        KEY_A,
        KEY_B,
    ] {
        assert!(
            memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
            "{secret} reached the database or its spool"
        );
    }
}

#[tokio::test]
async fn bodies_are_cut_with_a_marker_or_not_kept() {
    let s = setup("history: { max_body_bytes: 40 }\n").await;
    let body = json!({"model": "m1", "messages": [{"role": "user", "content": "a long prompt that will not fit"}]});
    let (_, id, _) = send(&s.gateway, "/v1/chat/completions", body.clone(), None).await;
    let row = s.gateway.history_row(&id, None).await;
    let sent = body.to_string();
    let expected = format!("{}…[truncated {} bytes]", &sent[..40], sent.len() - 40);
    assert_eq!(row["request_body"].as_str(), Some(expected.as_str()));

    // A body sent with its Chinese escaped (as `json.dumps` does by default), cut inside the
    // prompt (at byte 90, after "tail-be"): the prompt's head is found by its text; the
    // cut-off rest and the keys are not.
    let cut = setup("history: { max_body_bytes: 90 }\n").await;
    let escaped = r#"{"model":"m1","messages":[{"role":"user","content":"\u91cf\u5b50\u8ba1\u7b97\u673a tail-beyond-the-cut"}]}"#;
    let (status, id, _) = send_request(
        cut.gateway
            .client
            .post(cut.gateway.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(escaped),
    )
    .await;
    assert_eq!(status, 200);
    let row = cut.gateway.history_row(&id, None).await;
    assert_eq!(
        row["request_body"].as_str(),
        Some(
            format!(
                "{}…[truncated {} bytes]",
                &escaped[..90],
                escaped.len() - 90
            )
            .as_str()
        )
    );
    assert_eq!(
        ids(&search(&cut.gateway, "search=量子计算").await),
        [id.as_str()]
    );
    assert_eq!(ids(&search(&cut.gateway, "search=tail-be").await), [id]);
    assert!(ids(&search(&cut.gateway, "search=beyond").await).is_empty());
    assert!(ids(&search(&cut.gateway, "search=messages").await).is_empty());

    // An agent's long conversation is shortened and stays JSON: the newest turn is kept
    // whole and found by search; the oldest messages give way to a marker.
    let short = setup("history: { max_body_bytes: 600 }\n").await;
    let mut messages = vec![json!({"role": "system", "content": "You are a careful agent."})];
    for n in 1..=12 {
        let role = if n % 2 == 1 { "user" } else { "assistant" };
        messages
            .push(json!({"role": role, "content": format!("turn {n}: {}", "words ".repeat(30))}));
    }
    messages.push(json!({"role": "user", "content": "now refactor the zygomorphic parser"}));
    let conversation = json!({"model": "m1", "messages": messages, "max_tokens": 50});
    let (status, id, _) = send(&short.gateway, "/v1/chat/completions", conversation, None).await;
    assert_eq!(status, 200);
    let row = short.gateway.history_row(&id, None).await;
    let stored = row["request_body"].as_str().expect("request body");
    assert!(stored.len() <= 600, "{} bytes: {stored}", stored.len());
    let stored: Value = serde_json::from_str(stored).expect("still JSON");
    let kept = stored["messages"].as_array().expect("messages");
    assert_eq!(kept[0]["content"], "You are a careful agent.");
    assert!(
        kept[1]
            .as_str()
            .is_some_and(|m| m.starts_with("…[cut ") && m.ends_with(" messages]…")),
        "{stored}"
    );
    assert_eq!(
        kept.last().map(|m| m["content"].clone()),
        Some(json!("now refactor the zygomorphic parser"))
    );
    assert_eq!(stored["max_tokens"], 50);
    assert_eq!(
        ids(&search(&short.gateway, "search=zygomorphic").await),
        [id.as_str()]
    );

    let off = setup("history: { capture_bodies: false }\n").await;
    let (_, id, _) = send(
        &off.gateway,
        "/v1/chat/completions",
        body,
        Some("No Bodies"),
    )
    .await;
    let row = off.gateway.history_row(&id, None).await;
    assert_eq!(row.get("request_body"), None);
    assert_eq!(row.get("response_body"), None);
    assert_eq!(row["app"], "No Bodies");
}

#[tokio::test]
async fn bodies_kept_but_not_searched_with_search_bodies_off() {
    let s = setup("history: { search_bodies: false }\n").await;
    let body = json!({"model": "m1", "messages": [{"role": "user", "content": "find the zanzibar-needle"}]});
    let (status, id, _) = send(&s.gateway, "/v1/chat/completions", body, Some("Unsearched")).await;
    assert_eq!(status, 200);
    assert!(ids(&search(&s.gateway, "search=zanzibar").await).is_empty());
    // The other fields are searched, and the body is kept for the detail view.
    assert_eq!(
        ids(&search(&s.gateway, "search=Unsearched").await),
        [id.as_str()]
    );
    let row = s.gateway.history_row(&id, None).await;
    assert!(row["request_body"]
        .as_str()
        .is_some_and(|b| b.contains("find the zanzibar-needle")));
    // The Requests page says so under its search box.
    let page = s.gateway.get("/requests").await.text().await.expect("page");
    assert!(page.contains("kept but not searched (history.search_bodies is off)"));

    // The default searches them.
    let on = setup("").await;
    let body = json!({"model": "m1", "messages": [{"role": "user", "content": "find the zanzibar-needle"}]});
    let (_, id, _) = send(&on.gateway, "/v1/chat/completions", body, None).await;
    assert_eq!(ids(&search(&on.gateway, "search=zanzibar").await), [id]);
    let page = on
        .gateway
        .get("/requests")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Search") && !page.contains("not searched"));
}

#[tokio::test]
async fn a_database_that_cannot_open_fails_no_request() {
    let dir = tempfile::tempdir().expect("dir");
    // The history path is under a regular file: it can never be created.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("file");
    let extra = format!(
        "history: {{ path: \"{}\" }}\n",
        blocker.join("history.db").display()
    );
    let s = setup(&extra).await;
    let (status, _, _) = send(
        &s.gateway,
        "/v1/chat/completions",
        json!({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let health: Value = s.gateway.get("/health").await.json().await.expect("JSON");
    assert_eq!(health["history"]["enabled"], false);
    assert!(health["history"]["last_error"]
        .as_str()
        .expect("error")
        .contains("cannot open"));
    let response = s.gateway.get("/v1/requests").await;
    assert_eq!(response.status(), 503);

    let off = setup("history: { enabled: false }\n").await;
    let (status, _, _) = send(
        &off.gateway,
        "/v1/chat/completions",
        json!({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!off.gateway.dir.path().join("data/history.db").exists());
}

#[tokio::test]
async fn rows_past_the_retention_are_deleted_at_start() {
    use smart_ai_router::history::sqlite::SqliteStore;
    use smart_ai_router::history::HistoryStore;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("kept/history.db");
    let now = chrono::Utc::now().timestamp_millis();
    {
        let store = SqliteStore::open(&path).expect("opens");
        let old: smart_ai_router::history::HistoryRow =
            serde_json::from_value(json!({
                "id": "req_old", "timestamp": "2020-01-01T00:00:00.000Z", "time_ms": now - 3 * 86_400_000,
                "request_format": "chat", "app": null, "key_name": null, "query": "m1", "strategy": "flat",
                "model": "m1", "channel_id": "a", "channel_name": "a", "provider": "mock",
                "status": "ok", "http_status": 200, "stream": false, "input_tokens": 1, "output_tokens": 1,
                "total_tokens": 2, "cached_tokens": 0, "reasoning_tokens": 0, "input_cost": 0.0,
                "output_cost": 0.0, "total_cost": 0.0, "cost_currency": "USD", "cost_known": true,
                "usage_estimated": false, "latency_ms": 1, "ttft_ms": null, "error": null,
                "attempts": [], "route": null,
            }))
            .expect("a row");
        let mut recent = old.clone();
        recent.id = "req_recent".into();
        recent.time_ms = now - 3_600_000;
        store.insert(&[old, recent]).expect("insert");
    }
    let extra = format!(
        "history: {{ path: \"{}\", retention_days: 2 }}\n",
        path.display()
    );
    let s = setup(&extra).await;
    s.gateway.flush_history().await;
    assert_eq!(s.gateway.get("/v1/requests/req_old").await.status(), 404);
    assert_eq!(s.gateway.get("/v1/requests/req_recent").await.status(), 200);
}

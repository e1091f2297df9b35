//! Usage records end to end (docs/usage-records.md): what a routed call leaves in
//! `<usage.dir>/usage_YYYYMMDD.jsonl`. Reported tokens and exact costs at the channel's prices
//! (cached input at its own price), streamed calls with and without the client's
//! `include_usage`, tiktoken estimates when no usage arrives, streams the client leaves, failed
//! calls, unknown prices; the writer's split by UTC date; and that stopping the gateway under
//! load (in process, and the real binary on SIGTERM) loses and doubles no record.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::usage_log::{read_usage, read_usage_file, usage_files};
use crate::support::{MockUpstream, Reply, StreamEnd, TestGateway};
use bytes::Bytes;
use serde_json::{json, Value};
use smart_ai_router::catalog::ModelPrice;
use smart_ai_router::usage::record::UsageRecord;
use smart_ai_router::usage::tap::Usage;
use smart_ai_router::usage::writer::{PendingUsage, UsageWriter};
use tokio::io::AsyncBufReadExt;

/// A channel with one priced model (USD per 1M: input 0.5, output 1.5, cached input 0.25) and
/// one model without any price. Logs go to `logs`, outside the gateway's temp dir, so they
/// outlive `TestGateway::stop`.
fn config(mock: &MockUpstream, logs: &std::path::Path) -> String {
    format!(
        r#"
discovery: {{ enabled: false }}
usage: {{ dir: "{logs}" }}
channels:
  - id: paid
    name: Paid Channel
    provider: mock
    base_url: {url}
    api_key: sk-paid-key-0123456789
    configured_models: [gpt-4o-mini, mystery-model-7b]
    model_pricing:
      gpt-4o-mini: {{ input: 0.5, output: 1.5, cached_input: 0.25 }}
"#,
        url = mock.base_url(),
        logs = logs.display()
    )
}

struct Setup {
    gateway: TestGateway,
    mock: MockUpstream,
    logs: tempfile::TempDir,
}

async fn setup() -> Setup {
    let mock = MockUpstream::start(&[]).await;
    let logs = tempfile::tempdir().expect("logs dir");
    let gateway = TestGateway::start(&config(&mock, logs.path())).await;
    Setup {
        gateway,
        mock,
        logs,
    }
}

impl Setup {
    /// The records once at least one is written (a call the relay ends after the response
    /// was handed over is recorded a moment later); fails after 30 s.
    async fn first_records(&self) -> Vec<Value> {
        let running = self.gateway.running.as_ref().expect("gateway running");
        let waited = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                running.state.usage.flush().await;
                let records = read_usage(self.logs.path());
                if !records.is_empty() {
                    return records;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        waited.expect("a record is written within 30 s")
    }

    /// Every record written so far (waits for the writer first).
    async fn records(&self) -> Vec<Value> {
        let running = self.gateway.running.as_ref().expect("gateway running");
        running.state.usage.flush().await;
        read_usage(self.logs.path())
    }

    /// POST a chat body; the status, `x-request-id` and the whole response text.
    async fn send(&self, body: &Value) -> (u16, String, String) {
        let response = self.gateway.post_json("/v1/chat/completions", body).await;
        let status = response.status().as_u16();
        let id = header(&response, "x-request-id");
        let text = response.text().await.expect("response body");
        (status, id, text)
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

const PROMPT: &str = "What is six times seven?";

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": PROMPT}]})
}

fn stream_chat(model: &str, include_usage: Option<bool>) -> Value {
    let mut body = chat(model);
    body["stream"] = json!(true);
    if let Some(include) = include_usage {
        body["stream_options"] = json!({"include_usage": include});
    }
    body
}

/// The only record, checked to belong to `request_id`.
fn only(records: &[Value], request_id: &str) -> Value {
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["request_id"], request_id);
    records[0].clone()
}

/// Tokens of `text` with o200k_base, the tokenizer of gpt-4o-mini.
fn o200k(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

/// Awaits `condition`, checked every few milliseconds; fails after 30 s.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

#[tokio::test]
async fn a_non_streamed_call_records_the_reported_tokens_and_exact_costs() {
    let s = setup().await;
    let (status, id, _) = s.send(&chat("gpt-4o-mini")).await;
    assert_eq!(status, 200);
    let record = only(&s.records().await, &id);
    // 12 × 0.5 / 1M and 5 × 1.5 / 1M.
    let (input_cost, output_cost) = (6e-6, 7.5e-6);
    let expected = json!({
        "request_id": id, "query": "gpt-4o-mini", "model": "gpt-4o-mini", "channel_id": "paid",
        "channel_name": "Paid Channel", "provider": "mock", "strategy": "cost_first",
        "attempts": 1, "stream": false, "status": "success", "http_status": 200,
        "input_tokens": 12, "output_tokens": 5, "total_tokens": 17, "cached_tokens": 0,
        "reasoning_tokens": 0, "input_cost": input_cost, "output_cost": output_cost,
        "total_cost": input_cost + output_cost, "cost_currency": "USD",
        "usage_estimated": false, "cost_known": true, "request_type": "chat", "ttft_ms": null,
        "error_message": null
    });
    for (field, value) in expected.as_object().expect("object") {
        assert_eq!(&record[field], value, "{field} of {record}");
    }
    assert_eq!(record["total_cost"].as_f64(), Some(1.35e-5));
    assert_eq!(record["tags"], json!(["gpt", "4o", "mini", "gpt-4o-mini"]));
    s.gateway.stop().await;
}

#[tokio::test]
async fn cached_prompt_tokens_are_priced_at_the_cached_input_price() {
    let s = setup().await;
    s.mock.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-cached", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
                      "prompt_tokens_details": {"cached_tokens": 8},
                      "completion_tokens_details": {"reasoning_tokens": 2}}
        }),
        headers: vec![],
    });
    let (status, id, _) = s.send(&chat("gpt-4o-mini")).await;
    assert_eq!(status, 200);
    let record = only(&s.records().await, &id);
    assert_eq!(record["input_tokens"], 12);
    assert_eq!(record["cached_tokens"], 8);
    assert_eq!(record["reasoning_tokens"], 2);
    assert_eq!(record["output_tokens"], 5);
    assert_eq!(record["total_tokens"], 17);
    // 4 uncached × 0.5 + 8 cached × 0.25 = 4 per 1M; 5 × 1.5 = 7.5 per 1M.
    assert_eq!(record["input_cost"].as_f64(), Some(4e-6));
    assert_eq!(record["output_cost"].as_f64(), Some(7.5e-6));
    assert_eq!(record["total_cost"].as_f64(), Some(1.15e-5));
    assert_eq!(record["usage_estimated"], false);
    s.gateway.stop().await;
}

/// The `data:` payloads of an SSE body, `[DONE]` included.
fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn streamed_calls_record_the_same_usage_whether_or_not_the_client_asked_for_it() {
    let s = setup().await;
    let (status, asked_id, asked) = s.send(&stream_chat("gpt-4o-mini", Some(true))).await;
    assert_eq!(status, 200);
    let (status, plain_id, plain) = s.send(&stream_chat("gpt-4o-mini", None)).await;
    assert_eq!(status, 200);

    // The client that asked sees the usage chunk; the other does not, though the upstream was
    // asked for it both times.
    let asked = sse_data(&asked);
    let plain = sse_data(&plain);
    assert_eq!(asked.len(), plain.len() + 1, "{asked:#?}\n{plain:#?}");
    let usage_chunk: Value = serde_json::from_str(&asked[asked.len() - 2]).expect("usage chunk");
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 12);
    assert!(plain.iter().all(|d| !d.contains("\"usage\"")), "{plain:#?}");
    assert_eq!(plain.last().map(String::as_str), Some("[DONE]"));
    for sent in s.mock.completions() {
        assert_eq!(
            sent.json()["stream_options"],
            json!({"include_usage": true})
        );
    }

    let records = s.records().await;
    assert_eq!(records.len(), 2);
    for (record, id) in records.iter().zip([&asked_id, &plain_id]) {
        assert_eq!(&record["request_id"], id);
        assert_eq!(record["stream"], true);
        assert_eq!(record["status"], "success");
        assert_eq!(record["http_status"], 200);
        // The mock's stream reports prompt 12, completion 4.
        assert_eq!(record["input_tokens"], 12);
        assert_eq!(record["output_tokens"], 4);
        assert_eq!(record["total_tokens"], 16);
        assert_eq!(record["input_cost"].as_f64(), Some(6e-6));
        assert_eq!(record["output_cost"].as_f64(), Some(6e-6));
        assert_eq!(record["total_cost"].as_f64(), Some(1.2e-5));
        assert_eq!(record["usage_estimated"], false);
        assert!(record["ttft_ms"].is_u64(), "a stream has a ttft: {record}");
    }
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_stream_without_usage_is_estimated_with_tiktoken() {
    let s = setup().await;
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    s.mock.push(Reply::Stream {
        events: vec![
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "Six times seven"}), Value::Null),
            chunk(json!({"content": " is forty-two."}), Value::Null),
            chunk(json!({}), json!("stop")),
        ],
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });
    let (status, id, _) = s.send(&stream_chat("gpt-4o-mini", None)).await;
    assert_eq!(status, 200);
    let record = only(&s.records().await, &id);
    // OpenAI's chat count: 3 per message + role + content, then 3 to prime the reply.
    let input = 3 + o200k("user") + o200k(PROMPT) + 3;
    let output = o200k("Six times seven is forty-two.");
    assert_eq!((input, output), (13, 7), "the tokenizer's counts");
    assert_eq!(record["usage_estimated"], true);
    assert_eq!(record["input_tokens"], input);
    assert_eq!(record["output_tokens"], output);
    assert_eq!(record["total_tokens"], input + output);
    // 13 × 0.5 / 1M and 7 × 1.5 / 1M.
    assert_eq!(record["input_cost"].as_f64(), Some(6.5e-6));
    assert_eq!(record["output_cost"].as_f64(), Some(1.05e-5));
    assert_eq!(record["cost_known"], true);
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_non_streamed_answer_without_usage_is_estimated_with_tiktoken() {
    let s = setup().await;
    s.mock.push(Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-nousage", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Six times seven is forty-two."}, "finish_reason": "stop"}]
        }),
        headers: vec![],
    });
    let (status, id, _) = s.send(&chat("gpt-4o-mini")).await;
    assert_eq!(status, 200);
    let record = only(&s.records().await, &id);
    let input = 3 + o200k("user") + o200k(PROMPT) + 3;
    let output = o200k("Six times seven is forty-two.");
    assert_eq!(record["usage_estimated"], true);
    assert_eq!(record["input_tokens"], input);
    assert_eq!(record["output_tokens"], output);
    assert_eq!(record["total_tokens"], input + output);
    s.gateway.stop().await;
}

#[tokio::test]
async fn a_call_whose_every_attempt_fails_is_recorded_as_an_error() {
    let s = setup().await;
    s.mock.set_default(Reply::error(500, "upstream exploded"));
    let (status, id, body) = s.send(&chat("gpt-4o-mini")).await;
    assert_eq!(status, 502);
    let body: Value = serde_json::from_str(&body).expect("error body");
    assert_eq!(
        body["error"]["message"],
        "All 1 attempt failed: paid/gpt-4o-mini: HTTP 500: upstream exploded"
    );
    let record = only(&s.records().await, &id);
    let expected = json!({
        "status": "error", "http_status": 502, "attempts": 1, "model": "gpt-4o-mini",
        "channel_id": "paid", "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
        "total_cost": 0.0, "cost_known": true, "usage_estimated": false,
        "error_message": "every attempt failed"
    });
    for (field, value) in expected.as_object().expect("object") {
        assert_eq!(&record[field], value, "{field} of {record}");
    }
    s.gateway.stop().await;
}

#[tokio::test]
async fn an_unknown_price_is_not_claimed_free() {
    let s = setup().await;
    let (status, id, _) = s.send(&chat("mystery-model-7b")).await;
    assert_eq!(status, 200);
    let record = only(&s.records().await, &id);
    assert_eq!(record["model"], "mystery-model-7b");
    assert_eq!(record["input_tokens"], 12);
    assert_eq!(record["output_tokens"], 5);
    assert_eq!(record["cost_known"], false);
    assert_eq!(record["input_cost"].as_f64(), Some(0.0));
    assert_eq!(record["output_cost"].as_f64(), Some(0.0));
    assert_eq!(record["total_cost"].as_f64(), Some(0.0));
    s.gateway.stop().await;
}

/// A finished-looking record for the writer, stamped `timestamp`.
fn pending(request_id: &str, timestamp: &str) -> PendingUsage {
    let record = UsageRecord {
        timestamp: timestamp.into(),
        request_id: request_id.into(),
        query: "gpt-4o-mini".into(),
        model: "gpt-4o-mini".into(),
        channel_id: "paid".into(),
        channel_name: "Paid Channel".into(),
        provider: "mock".into(),
        strategy: "cost_first".into(),
        response_time_ms: 120,
        tags: vec!["gpt".into()],
        ..UsageRecord::default()
    };
    PendingUsage {
        record,
        usage: Some(Usage {
            input_tokens: 1000,
            output_tokens: 100,
            total_tokens: 1100,
            cached_tokens: 0,
            reasoning_tokens: 0,
            ..Usage::default()
        }),
        price: Some(ModelPrice {
            input: 0.5,
            output: 1.5,
            cached_input: None,
            cache_write: None,
        }),
        request_body: None,
        output_text: String::new(),
        details: None,
    }
}

#[tokio::test]
async fn records_go_to_the_file_of_their_utc_date() {
    let dir = tempfile::tempdir().expect("dir");
    let observed = Arc::new(Mutex::new(Vec::new()));
    let seen = observed.clone();
    let writer = UsageWriter::start(
        Some(dir.path().to_path_buf()),
        16,
        Box::new(move |r: &UsageRecord| seen.lock().expect("lock").push(r.request_id.clone())),
    );
    for (id, timestamp) in [
        ("a", "2026-11-21T23:59:59.999Z"),
        ("b", "2026-11-22T00:00:00.000Z"),
        ("c", "2026-11-21T23:59:59.000Z"),
        ("d", "2026-11-22T08:15:00.000Z"),
    ] {
        writer.submit(pending(id, timestamp));
    }
    writer.flush().await;
    let files = usage_files(dir.path());
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["usage_20261121.jsonl", "usage_20261122.jsonl"]);
    let ids = |path: &std::path::Path| -> Vec<String> {
        read_usage_file(path)
            .iter()
            .map(|r| r["request_id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(ids(&files[0]), ["a", "c"]);
    assert_eq!(ids(&files[1]), ["b", "d"]);
    let record = &read_usage_file(&files[1])[0];
    // 1000 × 0.5 / 1M and 100 × 1.5 / 1M.
    assert_eq!(record["input_cost"].as_f64(), Some(5e-4));
    assert_eq!(record["output_cost"].as_f64(), Some(1.5e-4));
    assert_eq!(
        *observed.lock().expect("lock"),
        ["a", "b", "c", "d"],
        "the observer sees every record once, in order"
    );
    assert_eq!(writer.dropped(), 0);
}

/// What one concurrent call came to: `None` when no HTTP response arrived (refused while the
/// gateway stopped), else its status and request id.
type CallResult = Option<(u16, String)>;

fn fire(
    calls: &mut tokio::task::JoinSet<CallResult>,
    client: &reqwest::Client,
    url: &str,
    n: usize,
) {
    for _ in 0..n {
        let (client, url) = (client.clone(), url.to_string());
        calls.spawn(async move {
            let response = client
                .post(&url)
                .json(&chat("gpt-4o-mini"))
                .send()
                .await
                .ok()?;
            let status = response.status().as_u16();
            let id = header(&response, "x-request-id");
            response.bytes().await.ok()?;
            Some((status, id))
        });
    }
}

/// Every answered call has exactly one record, and nothing else has one.
fn assert_one_record_per_answer(answered: &[(u16, String)], records: &[Value]) {
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["request_id"].as_str().unwrap_or_default())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no record is written twice");
    let answered_ids: HashSet<&str> = answered.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(unique, answered_ids, "one record per answered call");
    let ok = answered.iter().filter(|(status, _)| *status == 200).count();
    let successes = records.iter().filter(|r| r["status"] == "success").count();
    assert_eq!(successes, ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_under_load_loses_and_doubles_no_record() {
    let s = setup().await;
    s.mock
        .set_default(Reply::delayed(Duration::from_millis(50), Reply::Echo));
    let client = reqwest::Client::new();
    let mut calls = tokio::task::JoinSet::new();
    fire(
        &mut calls,
        &client,
        &s.gateway.url("/v1/chat/completions"),
        500,
    );
    let mock = s.mock.clone();
    wait_until("100 calls upstream", || mock.completions().len() >= 100).await;
    let Setup { gateway, logs, .. } = s;
    gateway.stop().await;
    let answered: Vec<(u16, String)> = calls.join_all().await.into_iter().flatten().collect();
    assert!(answered.len() >= 100, "{} answered", answered.len());
    let records = read_usage(logs.path());
    assert_eq!(records.len(), answered.len());
    assert_one_record_per_answer(&answered, &records);
}

/// Start the real binary on `config_dir` with `--port 0`; its address is read from its
/// "listening" log line. Its stderr keeps being drained so it never blocks on a full pipe.
async fn spawn_binary(
    config_dir: &std::path::Path,
) -> (tokio::process::Child, String, tokio::task::JoinHandle<()>) {
    let mut child = crate::support::binary_async()
        .arg("--config-dir")
        .arg(config_dir)
        .args(["--port", "0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the gateway binary");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["message"] == "smart-ai-router listening" {
                return event["local"].as_str().map(str::to_string);
            }
        }
        None
    })
    .await;
    let addr = listening
        .ok()
        .flatten()
        .expect("the gateway logs its listening address");
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{addr}"), drain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_flushes_every_record() {
    let mock = MockUpstream::start(&[]).await;
    mock.set_default(Reply::delayed(Duration::from_millis(50), Reply::Echo));
    let root = tempfile::tempdir().expect("dir");
    let logs = root.path().join("logs");
    crate::support::write_config(root.path(), &config(&mock, &logs));
    let (mut child, base, drain) = spawn_binary(&root.path().join("config")).await;

    let client = reqwest::Client::new();
    let mut calls = tokio::task::JoinSet::new();
    fire(
        &mut calls,
        &client,
        &format!("{base}/v1/chat/completions"),
        300,
    );
    wait_until("60 calls upstream", || mock.completions().len() >= 60).await;
    let pid = child.id().expect("the gateway is running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the gateway exits after SIGTERM")
        .expect("wait for the gateway");
    assert!(exit.success(), "exit status {exit}");
    let _ = drain.await;

    let answered: Vec<(u16, String)> = calls.join_all().await.into_iter().flatten().collect();
    assert!(answered.len() >= 60, "{} answered", answered.len());
    assert!(answered.iter().all(|(status, _)| *status == 200));
    let records = read_usage(&logs);
    assert_eq!(records.len(), answered.len());
    assert_one_record_per_answer(&answered, &records);
}

/// The client reads the first event, then hangs up while the upstream stalls: the call is
/// recorded as cancelled, with the tokens estimated from what was generated so far.
#[tokio::test]
async fn a_stream_the_client_leaves_is_recorded_as_cancelled() {
    let s = setup().await;
    let chunk = |content: &str| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        .to_string()
    };
    s.mock.push(Reply::Stream {
        events: vec![chunk("Six times seven")],
        gap: Duration::ZERO,
        end: StreamEnd::Stall,
    });
    let mut response = s
        .gateway
        .post_json("/v1/chat/completions", &stream_chat("gpt-4o-mini", None))
        .await;
    assert_eq!(response.status(), 200);
    let id = header(&response, "x-request-id");
    let first = response.chunk().await.expect("first chunk");
    assert!(first.is_some());
    drop(response);
    let record = only(&s.first_records().await, &id);
    let expected = json!({
        "status": "cancelled", "http_status": 200, "stream": true, "usage_estimated": true,
        "input_tokens": 3 + o200k("user") + o200k(PROMPT) + 3,
        "output_tokens": o200k("Six times seven"), "error_message": null
    });
    for (field, value) in expected.as_object().expect("object") {
        assert_eq!(&record[field], value, "{field} of {record}");
    }
    assert!(record["ttft_ms"].is_u64());
    s.gateway.stop().await;
}

/// Completed means completed: the client reads the whole stream up to `[DONE]` and closes at
/// once, while the upstream holds its end back (it sends nothing more and keeps the
/// connection open), so the relay is dropped before it sees the upstream's end. The call is a
/// success with the upstream's usage, and `/v1/stats/daily` counts it as one.
#[tokio::test]
async fn a_stream_whose_done_reached_the_client_is_a_success_even_if_the_client_closes_first() {
    let s = setup().await;
    let content = json!({"id": "c", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Forty-two."}, "finish_reason": "stop"}]});
    let usage = json!({"id": "c", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "gpt-4o-mini", "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}});
    s.mock.push(Reply::StreamBytes {
        pieces: vec![
            Bytes::from(format!("data: {content}\n\n")),
            Bytes::from(format!("data: {usage}\n\n")),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ],
        gap: Duration::ZERO,
        end: StreamEnd::Stall,
    });
    let body = stream_chat("gpt-4o-mini", Some(true));
    let mut response = s.gateway.post_json("/v1/chat/completions", &body).await;
    assert_eq!(response.status(), 200);
    let id = header(&response, "x-request-id");
    let mut received = String::new();
    while !received.contains("data: [DONE]") {
        let chunk = response
            .chunk()
            .await
            .expect("a chunk")
            .expect("more chunks");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(response);
    let record = only(&s.first_records().await, &id);
    let expected = json!({
        "status": "success", "http_status": 200, "stream": true, "usage_estimated": false,
        "input_tokens": 12, "output_tokens": 4, "error_message": null
    });
    for (field, value) in expected.as_object().expect("object") {
        assert_eq!(&record[field], value, "{field} of {record}");
    }
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d");
    let daily: Value = s
        .gateway
        .get(&format!("/v1/stats/daily?target_date={today}"))
        .await
        .json()
        .await
        .expect("daily stats");
    let daily = daily.get("data").unwrap_or(&daily);
    assert_eq!(
        (
            &daily["total_requests"],
            &daily["successful_requests"],
            &daily["failed_requests"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{daily}"
    );
    s.gateway.stop().await;
}

/// The client sees what the call cost: `x-router-cost` (decimal, the record's own figure),
/// `x-router-cost-known`, `x-router-cost-currency`, and `usage.cost` in the answer; an unpriced
/// model says its cost is unknown and adds no `usage.cost`.
#[tokio::test]
async fn a_non_streamed_answer_tells_the_client_its_cost() {
    let s = setup().await;
    let response = s
        .gateway
        .post_json("/v1/chat/completions", &chat("gpt-4o-mini"))
        .await;
    assert_eq!(response.status(), 200);
    // 12 × 0.5 / 1M + 5 × 1.5 / 1M.
    assert_eq!(header(&response, "x-router-cost"), "0.0000135");
    assert_eq!(header(&response, "x-router-cost-known"), "true");
    assert_eq!(header(&response, "x-router-cost-currency"), "USD");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["usage"]["cost"].as_f64(), Some(1.35e-5));
    assert_eq!(body["usage"]["prompt_tokens"], 12);

    let response = s
        .gateway
        .post_json("/v1/chat/completions", &chat("mystery-model-7b"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-router-cost-known"), "false");
    let body: Value = response.json().await.expect("json");
    assert!(body["usage"].get("cost").is_none(), "{body}");
    s.gateway.stop().await;
}

/// A stream whose client asked for usage gets `usage.cost` in its usage chunk (the record's
/// own figure); a stream whose usage the gateway asked for on its behalf stays as before
/// (that chunk is removed).
#[tokio::test]
async fn a_stream_that_asked_for_usage_gets_its_cost_in_the_usage_chunk() {
    let s = setup().await;
    let (status, _, text) = s.send(&stream_chat("gpt-4o-mini", Some(true))).await;
    assert_eq!(status, 200);
    let usage_chunks: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|c| c["usage"].is_object())
        .collect();
    assert_eq!(usage_chunks.len(), 1, "{text}");
    // 12 × 0.5 / 1M + 4 × 1.5 / 1M.
    assert_eq!(usage_chunks[0]["usage"]["cost"].as_f64(), Some(1.2e-5));
    assert_eq!(usage_chunks[0]["usage"]["prompt_tokens"], 12);
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    s.gateway.stop().await;
}

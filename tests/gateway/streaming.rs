//! Streaming through the real gateway (docs/failover.md, docs/usage-records.md): events reach the client as the upstream
//! sends them; failover before the first event; an SSE error event (and an `error` usage
//! record) after it; `[DONE]` relayed; the usage chunk the gateway asked for is hidden from a
//! client that did not ask, byte for byte, and shown to one that did; odd SSE framing passes
//! unchanged; a client that goes away cancels the upstream request and leaves a `cancelled`
//! record; streamed usage is recorded and priced exactly like the same call non-streamed.
//!
//! Comparisons are byte-exact against what the mock sent. Ordering is asserted against the
//! mock's own send times ([`StreamTracker`]), never against wall-clock thresholds.

use std::time::{Duration, Instant};

use crate::support::mock::{Gate, StreamTracker};
use crate::support::{MockUpstream, Reply, StreamEnd, TestGateway};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

const KEY_A: &str = "sk-test-key-aaaa-0001";
const KEY_B: &str = "sk-test-key-bbbb-0002";
/// Failure guard for anything a test waits on.
const GUARD: Duration = Duration::from_secs(20);

fn channel(id: &str, base_url: &str, key: &str, priority: i32, extra: &str) -> String {
    format!(
        "  - {{ id: {id}, provider: mock, base_url: \"{base_url}\", api_key: \"{key}\", \
         priority: {priority}, configured_models: [m1]{extra} }}\n"
    )
}

/// Channels `a` (tried first) and `b`, both serving `m1`, ranked by tie-break only.
async fn setup(extra_a: &str) -> Setup {
    let a = MockUpstream::start(&[]).await;
    let b = MockUpstream::start(&[]).await;
    let config = format!(
        "discovery: {{ enabled: false }}\n\
         routing:\n  default_strategy: flat\n  sorting_strategies:\n    flat: [ {{ field: free_score, weight: 1.0 }} ]\n\
         channels:\n{}{}",
        channel("a", &a.base_url(), KEY_A, 0, extra_a),
        channel("b", &b.base_url(), KEY_B, 1, ""),
    );
    let gateway = TestGateway::start(&config).await;
    Setup { gateway, a, b }
}

struct Setup {
    gateway: TestGateway,
    a: MockUpstream,
    b: MockUpstream,
}

/// One OpenAI chunk's JSON.
fn chunk(delta: Value, finish: Value) -> String {
    json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1700000000,
           "model": "m1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

fn content(text: &str) -> String {
    chunk(json!({"content": text}), Value::Null)
}

fn usage_chunk(input: u64, output: u64) -> String {
    json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1700000000,
           "model": "m1", "choices": [],
           "usage": {"prompt_tokens": input, "completion_tokens": output,
                     "total_tokens": input + output}})
    .to_string()
}

fn event(data: &str) -> String {
    format!("data: {data}\n\n")
}

const DONE: &str = "data: [DONE]\n\n";

/// The events of an ordinary answer: role, three words, finish; then the usage chunk.
fn answer_events() -> (Vec<String>, String) {
    let events = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        content("Hello"),
        content(" there"),
        content("!"),
        chunk(json!({}), json!("stop")),
    ];
    (events, usage_chunk(21, 3))
}

fn stream_body(include_usage: Option<bool>) -> Value {
    let mut body = json!({"model": "m1", "stream": true,
                          "messages": [{"role": "user", "content": "Hello"}]});
    if let Some(include) = include_usage {
        body["stream_options"] = json!({"include_usage": include});
    }
    body
}

/// What the client received: status, headers and each read with its arrival time.
struct Received {
    status: u16,
    headers: reqwest::header::HeaderMap,
    reads: Vec<(Bytes, Instant)>,
}

impl Received {
    fn text(&self) -> String {
        let bytes: Vec<u8> = self.reads.iter().flat_map(|(b, _)| b.to_vec()).collect();
        String::from_utf8(bytes).expect("UTF-8 stream")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// When each complete event (ended by a blank line) had fully arrived.
    fn event_arrivals(&self) -> Vec<Instant> {
        let mut arrivals = Vec::new();
        let mut seen = Vec::new();
        for (bytes, at) in &self.reads {
            seen.extend_from_slice(bytes);
            let complete = seen.windows(2).filter(|w| w == b"\n\n").count();
            while arrivals.len() < complete {
                arrivals.push(*at);
            }
        }
        arrivals
    }
}

async fn stream_chat(gateway: &TestGateway, body: &Value) -> Received {
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut stream = response.bytes_stream();
    let mut reads = Vec::new();
    let read_all = async {
        while let Some(read) = stream.next().await {
            reads.push((read.expect("the client stream reads"), Instant::now()));
        }
    };
    tokio::time::timeout(GUARD, read_all)
        .await
        .expect("the stream ends");
    Received {
        status,
        headers,
        reads,
    }
}

async fn usage_records(gateway: &TestGateway) -> Vec<Value> {
    let running = gateway.running.as_ref().expect("gateway running");
    running.state.usage.flush().await;
    let name = format!("usage_{}.jsonl", chrono::Utc::now().format("%Y%m%d"));
    match std::fs::read_to_string(gateway.dir.path().join("logs").join(name)) {
        Ok(text) => text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("cannot read the usage log: {e}"),
    }
}

/// `(channel_id, status, attempts, input, output, total, usage_estimated)` of a record.
fn summary(record: &Value) -> (String, String, u64, u64, u64, u64, bool) {
    (
        record["channel_id"].as_str().unwrap_or("").to_string(),
        record["status"].as_str().unwrap_or("").to_string(),
        record["attempts"].as_u64().unwrap_or(0),
        record["input_tokens"].as_u64().unwrap_or(0),
        record["output_tokens"].as_u64().unwrap_or(0),
        record["total_tokens"].as_u64().unwrap_or(0),
        record["usage_estimated"].as_bool().unwrap_or(false),
    )
}

fn s(text: &str) -> String {
    text.to_string()
}

#[tokio::test]
async fn events_reach_the_client_as_the_upstream_sends_them() {
    let t = setup("").await;
    let tracker = StreamTracker::new();
    let events: Vec<String> = (0..6).map(|i| content(&format!("w{i}"))).collect();
    t.a.push(Reply::Tracked(
        tracker.clone(),
        Box::new(Reply::Stream {
            events: events.clone(),
            gap: Duration::from_millis(100),
            end: StreamEnd::Done,
        }),
    ));
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.status, 200);
    assert_eq!(received.header("content-type"), Some("text/event-stream"));
    let expected: String = events.iter().map(|e| event(e)).collect::<String>() + DONE;
    assert_eq!(received.text(), expected);

    let sent = tracker.sent_times();
    let arrived = received.event_arrivals();
    assert_eq!((sent.len(), arrived.len()), (7, 7));
    // The first event reached the client before the upstream even sent the last one.
    assert!(arrived[0] < sent[5], "the first event waited for the last");
    for (i, (arrival, sending)) in arrived.iter().zip(&sent).enumerate() {
        assert!(arrival >= sending, "event {i} arrived before it was sent");
    }
    t.gateway.stop().await;
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_event_fails_over() {
    let (events, usage) = answer_events();
    let failures = [
        (
            "200 then close",
            Reply::Stream {
                events: vec![],
                gap: Duration::ZERO,
                end: StreamEnd::Close,
            },
        ),
        (
            "an error event first",
            Reply::Stream {
                events: vec![s(
                    r#"{"error":{"message":"The server is overloaded","type":"server_error"}}"#,
                )],
                gap: Duration::ZERO,
                end: StreamEnd::Done,
            },
        ),
        ("no event within timeout_s", Reply::StallAfterHeaders),
    ];
    for (what, failure) in failures {
        let t = setup(", timeout_s: 0.5").await;
        t.a.push(failure);
        let mut all = events.clone();
        all.push(usage.clone());
        t.b.push(Reply::Stream {
            events: all,
            gap: Duration::ZERO,
            end: StreamEnd::Done,
        });
        let received = stream_chat(&t.gateway, &stream_body(None)).await;
        assert_eq!(received.status, 200, "{what}");
        assert_eq!(
            (
                received.header("x-router-channel"),
                received.header("x-router-attempts")
            ),
            (Some("b"), Some("2")),
            "{what}"
        );
        let expected: String = events.iter().map(|e| event(e)).collect::<String>() + DONE;
        assert_eq!(received.text(), expected, "{what}");
        let records = usage_records(&t.gateway).await;
        assert_eq!(records.len(), 1, "{what}");
        assert_eq!(
            summary(&records[0]),
            (s("b"), s("success"), 2, 21, 3, 24, false),
            "{what}"
        );
        t.gateway.stop().await;
    }
}

/// Send a streamed chat; read until `ready` holds for what arrived; then `then()`; then read
/// to the end. Returns everything the client received.
async fn stream_in_two_steps(
    gateway: &TestGateway,
    body: &Value,
    ready: impl Fn(&str) -> bool,
    then: impl FnOnce(),
) -> (reqwest::header::HeaderMap, String) {
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let first_part = async {
        while !ready(&String::from_utf8_lossy(&received)) {
            let read = stream.next().await.expect("more to read").expect("bytes");
            received.extend_from_slice(&read);
        }
    };
    tokio::time::timeout(GUARD, first_part)
        .await
        .expect("the first part arrives");
    then();
    let rest = async {
        while let Some(read) = stream.next().await {
            received.extend_from_slice(&read.expect("bytes"));
        }
    };
    tokio::time::timeout(GUARD, rest)
        .await
        .expect("the stream ends");
    (headers, String::from_utf8(received).expect("UTF-8"))
}

#[tokio::test]
async fn an_upstream_that_closes_inside_an_event_drops_the_cut_event_before_the_error() {
    let t = setup("").await;
    let (events, _) = answer_events();
    let relayed: String = events[..3].iter().map(|e| event(e)).collect();
    t.a.push(Reply::StreamBytes {
        pieces: vec![
            Bytes::from(relayed.clone()),
            Bytes::from_static(b"data: {\"id\":\"c1\",\"choi"),
        ],
        gap: Duration::from_millis(5),
        end: StreamEnd::End,
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.status, 200);
    let text = received.text();
    let rest = text
        .strip_prefix(&relayed)
        .unwrap_or_else(|| panic!("the whole events come first: {text}"));
    // Nothing of the cut event: the error event alone, whole, parses.
    let data = rest
        .strip_prefix("data: ")
        .and_then(|r| r.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("one SSE error event ends the stream: {rest:?}"));
    let error: Value = serde_json::from_str(data).expect("the error event is JSON");
    assert_eq!(error["error"]["code"], "stream_interrupted");
    assert_eq!(
        error["error"]["message"],
        "upstream closed the stream before [DONE]"
    );

    // A last event that is whole but lacks its blank line is passed on, ended as an event.
    t.a.push(Reply::StreamBytes {
        pieces: vec![
            Bytes::from(relayed.clone()),
            Bytes::from_static(b"data: [DONE]"),
        ],
        gap: Duration::from_millis(5),
        end: StreamEnd::End,
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.text(), format!("{relayed}{DONE}"));
}

#[tokio::test]
async fn an_upstream_that_breaks_mid_stream_ends_the_client_stream_with_an_error_event() {
    let t = setup("").await;
    let (events, _) = answer_events();
    let relayed: String = events[..3].iter().map(|e| event(e)).collect();
    let gate = Gate::new();
    t.a.push(Reply::StreamGated {
        pieces: vec![Bytes::from(relayed.clone())],
        gate: gate.clone(),
        end: StreamEnd::Close,
    });
    // The upstream breaks only once the client has the first events.
    let (headers, text) = stream_in_two_steps(
        &t.gateway,
        &stream_body(None),
        |got| got == relayed,
        || gate.open(),
    )
    .await;
    assert_eq!(
        headers
            .get("x-router-channel")
            .and_then(|v| v.to_str().ok()),
        Some("a")
    );
    let rest = text
        .strip_prefix(&relayed)
        .unwrap_or_else(|| panic!("the events sent come first: {text}"));
    let data = rest
        .strip_prefix("data: ")
        .and_then(|r| r.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("one SSE error event ends the stream: {rest:?}"));
    let error: Value = serde_json::from_str(data).expect("the error event is JSON");
    assert_eq!(error["error"]["type"], "upstream_error");
    assert_eq!(error["error"]["code"], "stream_interrupted");
    let message = error["error"]["message"].as_str().expect("a message");
    assert!(message.starts_with("upstream stream broke: "), "{message}");
    // No failover after the first byte.
    assert_eq!(t.b.completion_count(), 0);

    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "error");
    assert_eq!(records[0]["http_status"], 200);
    assert_eq!(records[0]["stream"], true);
    assert_eq!(records[0]["error_message"], message);
    // No usage arrived: the record says its figures are estimates.
    assert_eq!(records[0]["usage_estimated"], true);
    // The break counts against the (channel, model).
    let view = t
        .gateway
        .running
        .as_ref()
        .expect("running")
        .state
        .health
        .model_state("a/m1")
        .expect("a/m1 has a state");
    assert_eq!(view.breaker.consecutive_failures, 1);
    t.gateway.stop().await;
}

#[tokio::test]
async fn an_error_event_after_the_first_byte_is_relayed_and_recorded_as_an_error() {
    let t = setup("").await;
    let (events, _) = answer_events();
    let error = r#"{"error":{"message":"The server had an error while processing your request","type":"server_error"}}"#;
    let mut sent: Vec<String> = events[..2].to_vec();
    sent.push(s(error));
    t.a.push(Reply::Stream {
        events: sent.clone(),
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    let expected: String = sent.iter().map(|e| event(e)).collect::<String>() + DONE;
    assert_eq!(received.text(), expected);
    assert_eq!(t.b.completion_count(), 0);
    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "error");
    assert_eq!(
        records[0]["error_message"],
        "upstream sent an error event: The server had an error while processing your request"
    );
    t.gateway.stop().await;
}

#[tokio::test]
async fn the_usage_chunk_the_gateway_asked_for_is_hidden_byte_for_byte() {
    let t = setup("").await;
    let (events, usage) = answer_events();
    let mut pieces: Vec<Bytes> = events.iter().map(|e| Bytes::from(event(e))).collect();
    pieces.push(Bytes::from(event(&usage)));
    t.a.push(Reply::StreamBytes {
        pieces: pieces.clone(),
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    let expected: String = events.iter().map(|e| event(e)).collect::<String>() + DONE;
    assert_eq!(received.text(), expected);
    assert!(received.text().ends_with("data: [DONE]\n\n"));

    // The upstream was asked for usage; nothing else in the body changed.
    let upstream = t.a.completions().pop().expect("the upstream request");
    let mut asked = stream_body(None);
    asked["stream_options"] = json!({"include_usage": true});
    assert_eq!(upstream.json(), asked);

    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        summary(&records[0]),
        (s("a"), s("success"), 1, 21, 3, 24, false)
    );
    assert_eq!(records[0]["stream"], true);
    assert_eq!(records[0]["error_message"], Value::Null);
    t.gateway.stop().await;
}

#[tokio::test]
async fn a_client_that_asked_for_usage_sees_the_usage_chunk() {
    let t = setup("").await;
    let (events, usage) = answer_events();
    let mut pieces: Vec<Bytes> = events.iter().map(|e| Bytes::from(event(e))).collect();
    pieces.push(Bytes::from(event(&usage)));
    t.a.push(Reply::StreamBytes {
        pieces: pieces.clone(),
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });
    let body = stream_body(Some(true));
    let received = stream_chat(&t.gateway, &body).await;
    let sent: Vec<u8> = pieces.concat();
    assert_eq!(
        received.text(),
        String::from_utf8(sent).expect("UTF-8") + DONE
    );
    let upstream = t.a.completions().pop().expect("the upstream request");
    assert_eq!(upstream.body, serde_json::to_vec(&body).expect("JSON"));
    let records = usage_records(&t.gateway).await;
    assert_eq!(
        summary(&records[0]),
        (s("a"), s("success"), 1, 21, 3, 24, false)
    );
    t.gateway.stop().await;
}

/// An SSE stream in the framing variants real upstreams use, cut into 7-byte writes.
fn odd_framing(usage: &str) -> (String, String) {
    let role = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    let finish = chunk(json!({}), json!("stop"));
    let visible = format!(
        ": OPENROUTER PROCESSING\n\n\
         data:{role}\r\n\r\n\
         : keep-alive\r\n\
         data: {hello}\n\n\
         event: message\nid: 7\ndata:{world}\r\n\r\n\
         data: {finish}\r\n\r\n",
        hello = content("Hello"),
        world = content(" world"),
    );
    let usage_event = format!("data:{usage}\r\n\r\n");
    (visible, usage_event)
}

fn seven_byte_pieces(text: &str) -> Vec<Bytes> {
    text.as_bytes()
        .chunks(7)
        .map(Bytes::copy_from_slice)
        .collect()
}

#[tokio::test]
async fn comments_colons_without_space_crlf_and_split_events_pass_unchanged() {
    for include_usage in [None, Some(true)] {
        let t = setup("").await;
        let (visible, usage_event) = odd_framing(&usage_chunk(40, 2));
        let done = "data:[DONE]\r\n\r\n";
        let sent = format!("{visible}{usage_event}{done}");
        // Once the client has [DONE], the upstream cuts its connection: the answer was
        // complete, so that is no error.
        let gate = Gate::new();
        t.a.push(Reply::StreamGated {
            pieces: seven_byte_pieces(&sent),
            gate: gate.clone(),
            end: StreamEnd::Close,
        });
        let expected = if include_usage.is_some() {
            sent.clone()
        } else {
            format!("{visible}{done}")
        };
        let (_, text) = stream_in_two_steps(
            &t.gateway,
            &stream_body(include_usage),
            |got| got.ends_with(done),
            || gate.open(),
        )
        .await;
        assert_eq!(text, expected, "include_usage {include_usage:?}");
        let records = usage_records(&t.gateway).await;
        assert_eq!(records.len(), 1);
        assert_eq!(
            summary(&records[0]),
            (s("a"), s("success"), 1, 40, 2, 42, false),
            "include_usage {include_usage:?}"
        );
        t.gateway.stop().await;
    }
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_upstream_request() {
    let t = setup("").await;
    let tracker = StreamTracker::new();
    let events: Vec<String> = (0..200).map(|i| content(&format!("w{i}"))).collect();
    t.a.push(Reply::Tracked(
        tracker.clone(),
        Box::new(Reply::Stream {
            events,
            gap: Duration::from_millis(20),
            end: StreamEnd::Done,
        }),
    ));
    let response = t
        .gateway
        .client
        .post(t.gateway.url("/v1/chat/completions"))
        .json(&stream_body(None))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let first = tokio::time::timeout(GUARD, stream.next())
        .await
        .expect("a first read")
        .expect("not the end")
        .expect("bytes");
    assert!(first.starts_with(b"data: "));
    drop(stream);

    let dropped = tokio::time::timeout(GUARD, tracker.wait_finished())
        .await
        .expect("the upstream body ends");
    assert!(dropped, "the upstream request was not cancelled");
    assert!(tracker.sent_times().len() < 200);

    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "cancelled");
    assert_eq!(records[0]["stream"], true);
    assert_eq!(records[0]["channel_id"], "a");
    t.gateway.stop().await;
}

#[tokio::test]
async fn streamed_usage_is_recorded_and_priced_like_the_same_call_non_streamed() {
    let a = MockUpstream::start(&[]).await;
    let config = format!(
        "discovery: {{ enabled: false }}\n\
         channels:\n  - id: a\n    provider: mock\n    base_url: \"{}\"\n    api_key: \"{KEY_A}\"\n    \
         configured_models: [m1]\n    model_pricing:\n      m1: {{ input: 1.5, output: 4.0, cached_input: 0.5 }}\n",
        a.base_url()
    );
    let gateway = TestGateway::start(&config).await;
    let usage = json!({"prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165,
                       "prompt_tokens_details": {"cached_tokens": 20}});
    a.push(Reply::Json {
        status: 200,
        body: json!({"id": "chatcmpl-n", "object": "chat.completion", "created": 1700000000,
                     "model": "m1", "usage": usage,
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                                  "finish_reason": "stop"}]}),
        headers: vec![],
    });
    let (events, _) = answer_events();
    let mut all = events.clone();
    all.push(
        json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1700000000,
               "model": "m1", "choices": [], "usage": usage})
        .to_string(),
    );
    a.push(Reply::Stream {
        events: all,
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });

    let plain = gateway
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "m1", "messages": [{"role": "user", "content": "Hello"}]}),
        )
        .await;
    assert_eq!(plain.status(), 200);
    assert_eq!(stream_chat(&gateway, &stream_body(None)).await.status, 200);

    let records = usage_records(&gateway).await;
    assert_eq!(records.len(), 2);
    let (plain, streamed) = (&records[0], &records[1]);
    assert_eq!(
        (plain["stream"].clone(), streamed["stream"].clone()),
        (json!(false), json!(true))
    );
    let input_cost = (100.0 * 1.5 + 20.0 * 0.5) / 1e6;
    let output_cost = 45.0 * 4.0 / 1e6;
    for record in [plain, streamed] {
        assert_eq!(
            summary(record),
            (s("a"), s("success"), 1, 120, 45, 165, false)
        );
        assert_eq!(record["cached_tokens"], 20);
        assert_eq!(record["input_cost"].as_f64(), Some(input_cost));
        assert_eq!(record["output_cost"].as_f64(), Some(output_cost));
        assert_eq!(
            record["total_cost"].as_f64(),
            Some(input_cost + output_cost)
        );
        assert_eq!(record["cost_known"], true);
    }
    assert_eq!(plain["total_cost"], streamed["total_cost"]);
    gateway.stop().await;
}

#[tokio::test]
async fn a_client_that_goes_away_before_the_first_byte_leaves_a_cancelled_record() {
    let t = setup("").await;
    let gate = Gate::new();
    t.a.push(Reply::Gated(gate.clone(), Box::new(Reply::Echo)));
    let request = t
        .gateway
        .client
        .post(t.gateway.url("/v1/chat/completions"))
        .json(&stream_body(None));
    let call = tokio::spawn(async move { request.send().await });
    tokio::time::timeout(GUARD, gate.wait_arrived(1))
        .await
        .expect("the call reaches the upstream");
    call.abort();
    // The gateway drops its upstream request when its client goes away.
    tokio::time::timeout(GUARD, gate.wait_abandoned(1))
        .await
        .expect("the upstream request is cancelled");
    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "cancelled");
    assert_eq!(records[0]["http_status"], 499);
    assert_eq!(records[0]["channel_id"], "a");
    assert_eq!(records[0]["attempts"], 1);
    assert_eq!(t.b.completion_count(), 0);
    t.gateway.stop().await;
}

#[tokio::test]
async fn a_content_policy_error_as_the_first_event_is_relayed_not_failed_over() {
    let t = setup("").await;
    let refusal = r#"{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}"#;
    t.a.push(Reply::Stream {
        events: vec![s(refusal)],
        gap: Duration::ZERO,
        end: StreamEnd::Done,
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.status, 200);
    assert_eq!(received.header("x-router-channel"), Some("a"));
    assert_eq!(received.text(), event(refusal) + DONE);
    assert_eq!(t.b.completion_count(), 0);
    let records = usage_records(&t.gateway).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "error");
    assert_eq!(
        records[0]["error_message"],
        "upstream sent an error event: Your request was rejected as a result of our safety system."
    );
    // A refusal says nothing about the channel's health.
    let health = &t.gateway.running.as_ref().expect("running").state.health;
    assert_eq!(
        health
            .model_state("a/m1")
            .map(|v| v.breaker.consecutive_failures),
        None
    );
    t.gateway.stop().await;
}

#[tokio::test]
async fn an_sse_body_under_another_content_type_is_still_relayed() {
    let t = setup("").await;
    let (events, usage) = answer_events();
    let mut all = events.clone();
    all.push(usage);
    let sent: String = all.iter().map(|e| event(e)).collect::<String>() + DONE;
    t.a.push(Reply::Raw {
        status: 200,
        content_type: "text/plain; charset=utf-8".into(),
        body: sent.into(),
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.header("content-type"), Some("text/event-stream"));
    let expected: String = events.iter().map(|e| event(e)).collect::<String>() + DONE;
    assert_eq!(received.text(), expected);
    let records = usage_records(&t.gateway).await;
    assert_eq!(
        summary(&records[0]),
        (s("a"), s("success"), 1, 21, 3, 24, false)
    );
    t.gateway.stop().await;
}

#[tokio::test]
async fn a_stream_request_answered_with_an_html_page_fails_over() {
    let t = setup("").await;
    t.a.push(Reply::Raw {
        status: 200,
        content_type: "text/html".into(),
        body: "<html><body>Welcome to nginx!</body></html>".into(),
    });
    let received = stream_chat(&t.gateway, &stream_body(None)).await;
    assert_eq!(received.status, 200);
    assert_eq!(
        (
            received.header("x-router-channel"),
            received.header("x-router-attempts")
        ),
        (Some("b"), Some("2"))
    );
    assert!(received.text().ends_with(DONE));
    t.gateway.stop().await;
}

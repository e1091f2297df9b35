//! The history's work per call, in two groups.
//!
//! `history_row`: the writer's, without the write to disk: a row built from a finished usage
//! record and its call details (bodies redacted and cut, the route formatted) and appended to
//! the spool's buffer as one framed entry, as `history::writer` does. The call is the one the
//! load harness sends (a 200-byte chat request) with the mock upstream's answer; a second case
//! carries a 16 KB prompt, and a third a prompt with a key in it (the redaction's slow path).
//!
//! `history_store`: the importer's, per row: `SqliteStore::insert` of a batch of 300 such rows
//! (one transaction, as the importer commits them) into a database in a temporary folder that
//! grows over the run, so the full-text index's merges are counted. The bench call's row with
//! its bodies, without bodies (`capture_bodies: false`) and with bodies kept but not indexed
//! (`search_bodies: false`); the 16 KB prompt's row, indexed and not. The differences are
//! what storing the bodies costs and what indexing them does.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use smart_ai_router::history::row::{BodyPolicy, HistoryRow};
use smart_ai_router::history::spool::push_entry;
use smart_ai_router::history::sqlite::SqliteStore;
use smart_ai_router::history::HistoryStore;
use smart_ai_router::usage::details::{AttemptLog, CallDetails, RouteCandidate, RoutePlan};
use smart_ai_router::usage::record::UsageRecord;

const REQUEST: &str = r#"{"model":"mock-model","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"max_tokens":32}"#;
const ANSWER: &str = r#"{"id":"chatcmpl-mock1796461902","created":1796461902,"model":"mock-model","system_fingerprint":"fp_mock","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! I am a mock model, happy to help.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"cost":0.0000114,"prompt_tokens":28,"completion_tokens":12,"total_tokens":40,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#;

fn record() -> UsageRecord {
    UsageRecord {
        timestamp: "2026-12-05T09:11:42.046Z".into(),
        request_id: "req_01a2457938de51a2db56bbca".into(),
        query: "mock-model".into(),
        model: "mock-model".into(),
        channel_id: "mock".into(),
        channel_name: "mock".into(),
        provider: "mock".into(),
        strategy: "cost_first".into(),
        http_status: 200,
        input_tokens: 28,
        output_tokens: 12,
        total_tokens: 40,
        input_cost: 4.2e-6,
        output_cost: 7.2e-6,
        total_cost: 1.14e-5,
        cost_currency: "USD".into(),
        cost_known: true,
        request_type: "chat".into(),
        ..UsageRecord::default()
    }
}

fn details(request: &str) -> CallDetails {
    CallDetails {
        client_app: Some("wrk".into()),
        request_body: Some(Bytes::copy_from_slice(request.as_bytes())),
        response_body: Some(Bytes::from_static(ANSWER.as_bytes())),
        attempts: vec![AttemptLog {
            channel: "mock".into(),
            model: "mock-model".into(),
            http_status: Some(200),
            error_class: "success".into(),
            duration_ms: 0,
            message: None,
        }],
        route: Some(RoutePlan {
            top: vec![RouteCandidate {
                candidate: Arc::from("mock/mock-model"),
                score: 0.66,
                sub_scores: [0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0],
            }],
            ranked: 1,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let policy = BodyPolicy {
        capture: true,
        max_bytes: 65_536,
        secrets: Default::default(),
    };
    let long_prompt = REQUEST.replace(
        "Say hello in one short sentence, please.",
        &"Summarise the quarterly report in plain words, section by section. ".repeat(240),
    );
    let with_key = REQUEST.replace(
        "Say hello in one short sentence, please.",
        "My key is api_key: sk-proj-abcdEFGH1234ijklMNOP, why is it refused?",
    );
    // The gateway's own secrets, as a config with 20 channels and its two tokens gives them.
    let with_secrets = BodyPolicy {
        secrets: Default::default(),
        ..policy.clone()
    };
    let keys: Vec<String> = (0..20)
        .map(|n| format!("channel-key-{n:02}-0123456789abcdef"))
        .chain([
            "api-token-0123456789".into(),
            "admin-token-0123456789".into(),
        ])
        .collect();
    with_secrets.secrets.set(keys.iter().map(String::as_str));
    // An agent's conversation of 200 KB (60 turns with tool output), shortened to 64 KB.
    let turns: Vec<serde_json::Value> = (0..60)
        .map(|n| {
            let role = if n % 2 == 0 { "user" } else { "assistant" };
            serde_json::json!({"role": role, "content": format!("turn {n}: {}", "the file says this and that. ".repeat(110))})
        })
        .collect();
    let agent =
        serde_json::json!({"model": "mock-model", "messages": turns, "stream": true}).to_string();
    let mut group = c.benchmark_group("history_row");
    for (name, request, policy) in [
        ("bench_call", REQUEST.to_string(), &policy),
        (
            "bench_call_known_secrets",
            REQUEST.to_string(),
            &with_secrets,
        ),
        ("prompt_16k", long_prompt, &policy),
        ("prompt_with_a_key", with_key, &policy),
        ("agent_200k_shortened", agent, &policy),
    ] {
        let (record, details) = (record(), details(&request));
        let mut entries = Vec::with_capacity(64 * 1024);
        group.bench_function(name, |b| {
            b.iter(|| {
                entries.clear();
                let row = HistoryRow::build(record.clone(), Some(details.clone()), policy);
                push_entry(&mut entries, row, None).ok();
                black_box(entries.len())
            })
        });
    }
    group.finish();
}

/// Rows stored per transaction, as the importer batches them under load.
const STORE_BATCH: usize = 300;

fn bench_store(c: &mut Criterion) {
    let long_prompt = REQUEST.replace(
        "Say hello in one short sentence, please.",
        &"Summarise the quarterly report in plain words, section by section. ".repeat(240),
    );
    let captured = BodyPolicy {
        capture: true,
        max_bytes: 65_536,
        secrets: Default::default(),
    };
    let uncaptured = BodyPolicy {
        capture: false,
        ..captured.clone()
    };
    let mut group = c.benchmark_group("history_store");
    group.throughput(criterion::Throughput::Elements(STORE_BATCH as u64));
    for (name, request, policy, search_bodies) in [
        ("bench_call", REQUEST.to_string(), captured.clone(), true),
        (
            "bench_call_no_bodies",
            REQUEST.to_string(),
            uncaptured,
            true,
        ),
        (
            "bench_call_unsearched_bodies",
            REQUEST.to_string(),
            captured.clone(),
            false,
        ),
        ("prompt_16k", long_prompt.clone(), captured.clone(), true),
        ("prompt_16k_unsearched", long_prompt, captured, false),
    ] {
        let template = HistoryRow::build(record(), Some(details(&request)), &policy);
        let Ok(dir) = tempfile::tempdir() else {
            eprintln!("history_store: no temporary folder");
            return;
        };
        let store = match SqliteStore::open(&dir.path().join("history.db")) {
            Ok(store) => store.with_body_search(search_bodies),
            Err(e) => {
                eprintln!("history_store: {e}");
                return;
            }
        };
        let mut next_id = 0u64;
        group.bench_function(name, |b| {
            b.iter_custom(|batches| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..batches {
                    let rows: Vec<HistoryRow> = (0..STORE_BATCH)
                        .map(|_| {
                            next_id += 1;
                            let mut row = template.clone();
                            row.id = format!("req_{next_id:024x}");
                            row.time_ms += next_id as i64;
                            row
                        })
                        .collect();
                    let started = std::time::Instant::now();
                    if let Err(e) = store.insert(black_box(&rows)) {
                        eprintln!("history_store: {e}");
                    }
                    spent += started.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_store);
criterion_main!(benches);

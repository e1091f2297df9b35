//! Usage record cost on the writer thread, per record: finishing it (reported usage → tokens
//! and cost) and serialising it as one JSONL line, as `usage::writer` does; and the same line
//! for a record whose usage must be estimated with the tokenizer (no usage from upstream).
//! The request path pays none of this: it only queues a `PendingUsage`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use smart_ai_router::catalog::ModelPrice;
use smart_ai_router::usage::record::UsageRecord;
use smart_ai_router::usage::tap::Usage;
use smart_ai_router::usage::writer::{finish_record, PendingUsage};

fn record() -> UsageRecord {
    UsageRecord {
        timestamp: "2026-11-21T12:30:45.123Z".into(),
        request_id: "req_5f2c9a0e7b3d41c8a6e2f019".into(),
        query: "tag:qwen,instruct,!free".into(),
        model: "qwen/qwen3-235b-a22b-instruct-2507".into(),
        channel_id: "openrouter".into(),
        channel_name: "OpenRouter".into(),
        provider: "openrouter".into(),
        strategy: "cost_first".into(),
        stream: true,
        response_time_ms: 1834,
        ttft_ms: Some(412),
        tags: ["qwen", "qwen3", "235b", "a22b", "instruct", "2507"]
            .map(String::from)
            .to_vec(),
        ..UsageRecord::default()
    }
}

fn pending(usage: Option<Usage>) -> PendingUsage {
    PendingUsage {
        record: record(),
        usage,
        price: Some(ModelPrice {
            input: 0.13,
            output: 0.6,
            cached_input: Some(0.05),
            cache_write: None,
        }),
        request_body: Some(Bytes::from_static(
            br#"{"model":"tag:qwen,instruct,!free","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"max_tokens":32}"#,
        )),
        output_text: "Hello! It is nice to meet you, and I hope your day goes well.".into(),
        details: None,
    }
}

fn bench(c: &mut Criterion) {
    let reported = Usage {
        input_tokens: 1200,
        output_tokens: 350,
        total_tokens: 1550,
        cached_tokens: 1024,
        reasoning_tokens: 120,
        ..Usage::default()
    };
    let mut line = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut line, &finish_record(pending(Some(reported))));
    eprintln!("one JSONL line: {} bytes", line.len() + 1);
    let finished = finish_record(pending(Some(reported)));
    c.bench_function("usage record/serialise one JSONL line", |b| {
        b.iter(|| {
            line.clear();
            let _ = serde_json::to_writer(&mut line, black_box(&finished));
            line.push(b'\n');
            black_box(line.len())
        })
    });
    c.bench_function("usage record/finish + serialise (reported usage)", |b| {
        b.iter(|| {
            line.clear();
            let record = finish_record(black_box(pending(Some(reported))));
            let _ = serde_json::to_writer(&mut line, &record);
            black_box(line.len())
        })
    });
    c.bench_function("usage record/finish + serialise (estimated usage)", |b| {
        b.iter(|| {
            line.clear();
            let record = finish_record(black_box(pending(None)));
            let _ = serde_json::to_writer(&mut line, &record);
            black_box(line.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

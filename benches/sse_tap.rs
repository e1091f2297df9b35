//! Cost of the stream tap per SSE chunk (split + inspect + stream text) on the OpenAI recording,
//! and of reading usage from a typical non-streamed completion body.
//!
//! Run: `cargo bench --bench sse_tap`. Criterion's `thrpt` in elements/s is chunks per second:
//! ns per chunk = 1e9 / thrpt.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use smart_ai_router::upstream::sse::SseEventSplitter;
use smart_ai_router::usage::stream_text::StreamText;
use smart_ai_router::usage::tap::{inspect_chunk, usage_from_body};

const OPENAI_TEXT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/sse/openai-text.chunks.txt"
));

/// A 596-byte chat.completion body, the usual shape of a short non-streamed answer.
const COMPLETION_BODY: &[u8] = br#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"A wooden boardwalk runs through a green meadow.","annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"system_fingerprint":"fp_fc9f1d7035"}"#;

/// The recording as upstream reads: one read per event (as servers usually flush).
fn reads_per_event() -> Vec<Bytes> {
    OPENAI_TEXT
        .lines()
        .chain(["[DONE]"])
        .map(|line| Bytes::from(format!("data: {line}\n\n")))
        .collect()
}

/// The same bytes cut into reads of `size` bytes, so events span reads.
fn reads_of(size: usize) -> Vec<Bytes> {
    let wire: Vec<u8> = reads_per_event().concat();
    wire.chunks(size).map(Bytes::copy_from_slice).collect()
}

/// What the relay does per stream: split, inspect every data payload, keep the text.
fn tap_stream(reads: Vec<Bytes>) -> (usize, Option<u64>, usize) {
    let mut splitter = SseEventSplitter::new();
    let mut text = StreamText::new();
    let mut events = 0;
    let mut output_tokens = None;
    let mut handle = |data: Option<&[u8]>| {
        events += 1;
        let Some(data) = data else { return };
        let facts = inspect_chunk(data);
        if let Some(usage) = facts.usage {
            output_tokens = Some(usage.output_tokens);
        }
        text.add_chunk(data);
    };
    for read in reads {
        splitter.push(read);
        while let Some(event) = splitter.next_event() {
            handle(event.data());
        }
    }
    while let Some(event) = splitter.finish() {
        handle(event.data());
    }
    (events, output_tokens, text.text().len())
}

fn bench_stream(c: &mut Criterion) {
    let chunks = reads_per_event().len() as u64;
    assert_eq!(tap_stream(reads_per_event()), (304, Some(300), 1730));
    assert_eq!(tap_stream(reads_of(1460)), (304, Some(300), 1730));

    let mut group = c.benchmark_group("sse_tap/openai-text");
    group.throughput(Throughput::Elements(chunks));
    group.bench_function("split+inspect+text, one read per event", |b| {
        b.iter_batched(
            reads_per_event,
            |reads| black_box(tap_stream(reads)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("split+inspect+text, 1460-byte reads", |b| {
        b.iter_batched(
            || reads_of(1460),
            |reads| black_box(tap_stream(reads)),
            BatchSize::SmallInput,
        )
    });
    let payloads: Vec<&str> = OPENAI_TEXT.lines().collect();
    group.bench_function("inspect_chunk only", |b| {
        b.iter(|| {
            for data in &payloads {
                black_box(inspect_chunk(black_box(data.as_bytes())));
            }
        })
    });
    group.bench_function("StreamText::add_chunk only", |b| {
        b.iter(|| {
            let mut text = StreamText::new();
            for data in &payloads {
                text.add_chunk(black_box(data.as_bytes()));
            }
            black_box(text.text().len())
        })
    });
    group.finish();
}

fn bench_body(c: &mut Criterion) {
    assert_eq!(COMPLETION_BODY.len(), 596);
    assert_eq!(
        usage_from_body(COMPLETION_BODY).map(|u| u.total_tokens),
        Some(1163)
    );
    c.bench_function("usage_from_body/596-byte completion", |b| {
        b.iter(|| black_box(usage_from_body(black_box(COMPLETION_BODY))))
    });
}

criterion_group!(benches, bench_stream, bench_body);
criterion_main!(benches);

//! Tests of the SSE tap against real stream recordings: splitting, usage, stripping, text.

use super::*;
use crate::upstream::sse::{SseEvent, SseEventSplitter};
use crate::usage::stream_text::{StreamText, STREAM_TEXT_LIMIT};
use bytes::Bytes;
use proptest::prelude::*;

fn recording(name: &str) -> String {
    let path = format!("{}/tests/data/sse/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The wire form of a recording: `data: <line>` + blank line per line, then `[DONE]`.
fn wire(lines: &str, eol: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in lines.lines().chain(["[DONE]"]) {
        out.push_str("data: ");
        out.push_str(line);
        out.push_str(eol);
        out.push_str(eol);
    }
    out.into_bytes()
}

/// Events of `input` pushed in pieces cut at `cuts` (ascending offsets), then finished.
fn split_at(input: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut splitter = SseEventSplitter::new();
    let mut events = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&input.len()]) {
        let cut = cut.clamp(from, input.len());
        splitter.push(Bytes::copy_from_slice(&input[from..cut]));
        from = cut;
        events.extend(std::iter::from_fn(|| splitter.next_event()));
    }
    events.extend(std::iter::from_fn(|| splitter.finish()));
    events
}

fn one_push(input: &[u8]) -> Vec<SseEvent> {
    split_at(input, &[])
}

fn joined_raw(events: &[SseEvent]) -> Vec<u8> {
    events.iter().flat_map(|e| e.raw().to_vec()).collect()
}

fn facts_of_stream(input: &[u8]) -> Vec<ChunkFacts> {
    let events = one_push(input);
    events
        .iter()
        .filter_map(|e| e.data())
        .map(inspect_chunk)
        .collect()
}

// ----- usage from the recordings

#[test]
fn openai_recording_usage_is_on_the_usage_only_chunk() {
    let lines = recording("openai-text.chunks.txt");
    let events = one_push(&wire(&lines, "\n"));
    assert_eq!(events.len(), 304);
    assert!(events[303].is_done());
    assert_eq!(events.iter().filter(|e| e.is_done()).count(), 1);
    let facts: Vec<ChunkFacts> = events
        .iter()
        .filter_map(|e| e.data())
        .map(inspect_chunk)
        .collect();
    let with_usage: Vec<usize> = (0..facts.len())
        .filter(|&i| facts[i].usage.is_some())
        .collect();
    assert_eq!(with_usage, vec![302]);
    let usage = Usage {
        input_tokens: 16,
        output_tokens: 300,
        total_tokens: 316,
        cached_tokens: 0,
        reasoning_tokens: 0,
    };
    assert_eq!(
        facts[302],
        ChunkFacts {
            usage: Some(usage),
            usage_only: true,
            error: None
        }
    );
    assert_eq!(facts.iter().filter(|f| f.usage_only).count(), 1);
    assert!(facts.iter().all(|f| f.error.is_none()));
}

#[test]
fn xai_recording_keeps_the_reported_total() {
    let facts = facts_of_stream(&wire(&recording("xai-text.chunks.txt"), "\n"));
    assert_eq!(facts.len(), 9);
    let usage = Usage {
        input_tokens: 12,
        output_tokens: 1,
        total_tokens: 303,
        cached_tokens: 11,
        reasoning_tokens: 290,
    };
    assert_eq!(
        facts[7],
        ChunkFacts {
            usage: Some(usage),
            usage_only: true,
            error: None
        }
    );
    let others: Vec<&ChunkFacts> = facts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, f)| f)
        .collect();
    assert!(others.iter().all(|f| **f == ChunkFacts::default()));
}

#[test]
fn deepseek_usage_on_the_finish_chunk_is_never_usage_only() {
    let facts = facts_of_stream(&wire(
        &recording("deepseek-usage-on-finish.chunks.txt"),
        "\n",
    ));
    let usage = Usage {
        input_tokens: 13,
        output_tokens: 3,
        total_tokens: 16,
        cached_tokens: 8,
        reasoning_tokens: 0,
    };
    assert_eq!(facts.len(), 5);
    assert_eq!(
        facts[3],
        ChunkFacts {
            usage: Some(usage),
            usage_only: false,
            error: None
        }
    );
    assert!(facts[..3].iter().all(|f| *f == ChunkFacts::default()));
}

#[test]
fn deepseek_cache_hits_alone_give_the_cached_tokens() {
    let data = br#"{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":400,"total_tokens":413,"prompt_cache_hit_tokens":9,"prompt_cache_miss_tokens":4}}"#;
    let usage = inspect_chunk(data)
        .usage
        .map(|u| (u.input_tokens, u.cached_tokens));
    assert_eq!(usage, Some((13, 9)));
}

#[test]
fn groq_usage_is_read_from_usage_or_x_groq() {
    let line = recording("groq-finish-with-x-groq-usage.chunks.txt");
    let expected = Usage {
        input_tokens: 45,
        output_tokens: 662,
        total_tokens: 707,
        cached_tokens: 0,
        reasoning_tokens: 0,
    };
    let facts = inspect_chunk(line.trim_end().as_bytes());
    assert_eq!(
        facts,
        ChunkFacts {
            usage: Some(expected),
            usage_only: false,
            error: None
        }
    );
    let only_x_groq = br#"{"choices":[],"x_groq":{"id":"req_1","usage":{"queue_time":0.04,"prompt_tokens":45,"completion_tokens":662,"total_tokens":707}}}"#;
    assert_eq!(
        inspect_chunk(only_x_groq),
        ChunkFacts {
            usage: Some(expected),
            usage_only: true,
            error: None
        }
    );
}

#[test]
fn anthropic_message_delta_adds_cache_reads_and_writes_to_input() {
    let lines = recording("anthropic-code-execution-prompt-cache.chunks.txt");
    let delta = lines.lines().nth(42).unwrap_or_default();
    let usage = Usage {
        input_tokens: 6 + 3337 + 6289,
        output_tokens: 198,
        total_tokens: 9632 + 198,
        cached_tokens: 6289,
        reasoning_tokens: 0,
    };
    assert_eq!(
        inspect_chunk(delta.as_bytes()),
        ChunkFacts {
            usage: Some(usage),
            ..ChunkFacts::default()
        }
    );
    // `message_start` nests usage under `message`: not read.
    let start = lines.lines().next().unwrap_or_default();
    assert_eq!(inspect_chunk(start.as_bytes()), ChunkFacts::default());
}

// ----- usage of non-streamed bodies

#[test]
fn usage_from_chat_completion_body() {
    let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi! The word \"usage\" here is text."},"finish_reason":"stop"}],"usage":{"prompt_tokens":150,"completion_tokens":300,"total_tokens":450,"prompt_tokens_details":{"cached_tokens":128,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":64}}}"#;
    let expected = Usage {
        input_tokens: 150,
        output_tokens: 300,
        total_tokens: 450,
        cached_tokens: 128,
        reasoning_tokens: 64,
    };
    assert_eq!(usage_from_body(body), Some(expected));
}

#[test]
fn usage_from_embeddings_responses_and_anthropic_bodies() {
    let embeddings = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
    assert_eq!(
        usage_from_body(embeddings),
        Some(Usage {
            input_tokens: 8,
            total_tokens: 8,
            ..Usage::default()
        })
    );
    let responses = br#"{"object":"response","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":20},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":40},"total_tokens":123}}"#;
    assert_eq!(
        usage_from_body(responses),
        Some(Usage {
            input_tokens: 36,
            output_tokens: 87,
            total_tokens: 123,
            cached_tokens: 20,
            reasoning_tokens: 40
        })
    );
    let anthropic = br#"{"type":"message","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":50,"output_tokens":30}}"#;
    assert_eq!(
        usage_from_body(anthropic),
        Some(Usage {
            input_tokens: 162,
            output_tokens: 30,
            total_tokens: 192,
            cached_tokens: 50,
            reasoning_tokens: 0
        })
    );
}

#[test]
fn bodies_without_usage_counts_have_no_usage() {
    let cases: [&[u8]; 8] = [
        br#"{"choices":[{"message":{"content":"hi"}}]}"#,
        br#"{"choices":[],"usage":null}"#,
        br#"{"usage":{}}"#,
        br#"{"usage":{"queue_time":0.5}}"#,
        br#"{"usage":"lots"}"#,
        br#"{"error":{"message":"bad key","type":"invalid_request_error"}}"#,
        br#"{"usage":{"prompt_tokens":1"#,
        b"",
    ];
    for body in cases {
        assert_eq!(
            usage_from_body(body),
            None,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn counts_are_read_leniently() {
    let body = br#"{"usage":{"prompt_tokens":"12","completion_tokens":7.9,"total_tokens":-1,"prompt_tokens_details":"n/a","completion_tokens_details":{"reasoning_tokens":true}}}"#;
    assert_eq!(
        usage_from_body(body),
        Some(Usage {
            input_tokens: 12,
            output_tokens: 7,
            total_tokens: 19,
            ..Usage::default()
        })
    );
    let spaced = b"{ \"usage\" :\n { \"prompt_tokens\" : 3 , \"completion_tokens\" : 4 } }";
    assert_eq!(
        usage_from_body(spaced),
        Some(Usage {
            input_tokens: 3,
            output_tokens: 4,
            total_tokens: 7,
            ..Usage::default()
        })
    );
}

// ----- inspect_chunk

#[test]
fn plain_chunks_and_lookalikes_give_no_facts() {
    let cases: [&[u8]; 6] = [
        br#"{"choices":[{"index":0,"delta":{"content":"usage"},"finish_reason":null}],"usage":null}"#,
        br#"{"choices":[{"delta":{"content":"the \"usage\":{ key and \"error\":\"x\""}}]}"#,
        br#"{"choices":[{"delta":{"content":"hi"}}],"error":null}"#,
        b"[DONE]",
        b"",
        b"{\"usage\":{\"prompt_tokens\":5}",
    ];
    for data in cases {
        assert_eq!(
            inspect_chunk(data),
            ChunkFacts::default(),
            "{}",
            String::from_utf8_lossy(data)
        );
    }
}

#[test]
fn in_stream_errors_give_their_message() {
    let cases: [(&[u8], &str); 5] = [
        (br#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#, "The server had an error while processing your request."),
        (br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, "Overloaded"),
        (br#"{"id":"gen-1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":502,"message":"Provider returned error"}}"#, "Provider returned error"),
        (br#"{"error":"upstream timed out"}"#, "upstream timed out"),
        (br#"{"error":{"code":"rate_limited"}}"#, "rate_limited"),
    ];
    for (data, message) in cases {
        let facts = inspect_chunk(data);
        assert_eq!(facts.error.as_deref(), Some(message));
        assert_eq!(facts.usage, None);
        assert!(!facts.usage_only);
    }
    assert_eq!(
        inspect_chunk(br#"{"error":{"code":500}}"#).error.as_deref(),
        Some("upstream error without a message")
    );
}

#[test]
fn usage_only_needs_an_empty_choices_array() {
    let usage = r#""usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}"#;
    let cases = [
        (format!(r#"{{"choices":[],{usage}}}"#), true),
        (format!(r#"{{"choices": [ ] ,{usage}}}"#), true),
        (format!(r#"{{{usage}}}"#), false),
        (format!(r#"{{"choices":null,{usage}}}"#), false),
        (
            format!(r#"{{"choices":[{{"index":0,"delta":{{}}}}],{usage}}}"#),
            false,
        ),
        (r#"{"choices":[],"usage":null}"#.to_owned(), false),
    ];
    for (data, usage_only) in cases {
        assert_eq!(
            inspect_chunk(data.as_bytes()).usage_only,
            usage_only,
            "{data}"
        );
    }
}

// ----- SSE framing

#[test]
fn every_line_end_style_gives_the_same_data() {
    let lines = recording("xai-text.chunks.txt");
    let expected: Vec<&str> = lines.lines().chain(["[DONE]"]).collect();
    for eol in ["\n", "\r\n", "\r"] {
        let input = wire(&lines, eol);
        let events = one_push(&input);
        let data: Vec<&[u8]> = events.iter().filter_map(|e| e.data()).collect();
        let expected: Vec<&[u8]> = expected.iter().map(|l| l.as_bytes()).collect();
        assert_eq!(data, expected, "eol {eol:?}");
        assert_eq!(joined_raw(&events), input);
        assert!(events[0].raw().ends_with(format!("{eol}{eol}").as_bytes()));
    }
}

#[test]
fn mixed_line_ends_within_one_stream() {
    let input = b"data: a\r\n\ndata: b\n\r\ndata: c\r\rdata: d\n\n";
    let events = one_push(input);
    let data: Vec<&[u8]> = events.iter().filter_map(|e| e.data()).collect();
    assert_eq!(data, vec![&b"a"[..], b"b", b"c", b"d"]);
    assert_eq!(events[1].raw(), b"data: b\n\r\n");
}

#[test]
fn comments_fields_and_data_without_space() {
    let input = b": keep-alive\n\nevent: message\nid: 7\ndata:{\"a\":1}\n\n: note\ndata:  two spaces\n\ndata\n\n";
    let events = one_push(input);
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].raw(), b": keep-alive\n\n");
    assert!(events[0].is_comment_only());
    assert_eq!(events[0].data(), None);
    assert_eq!(events[1].data(), Some(&b"{\"a\":1}"[..]));
    assert!(!events[1].is_comment_only());
    assert_eq!(events[2].data(), Some(&b" two spaces"[..]));
    assert_eq!(events[3].data(), Some(&b""[..]));
    assert_eq!(joined_raw(&events), input);
}

#[test]
fn multi_line_data_is_joined_with_newlines() {
    let events = one_push(b"data: {\"a\":\r\ndata:  1}\r\ndata\r\n\r\n");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data(), Some(&b"{\"a\":\n 1}\n"[..]));
}

#[test]
fn lone_blank_lines_and_fields_without_data() {
    let input = b"\n\nevent: ping\n\ndata: [DONE]\n\n";
    let events = one_push(input);
    let raws: Vec<&[u8]> = events.iter().map(|e| e.raw()).collect();
    assert_eq!(
        raws,
        vec![&b"\n"[..], b"\n", b"event: ping\n\n", b"data: [DONE]\n\n"]
    );
    assert!(events[0].is_comment_only() && events[1].is_comment_only());
    assert!(!events[2].is_comment_only());
    assert_eq!(events[2].data(), None);
    assert!(events[3].is_done());
}

#[test]
fn stream_without_final_blank_line_is_finished() {
    let mut splitter = SseEventSplitter::new();
    splitter.push_slice(b"data: one\n\ndata: two\n");
    assert_eq!(
        splitter
            .next_event()
            .and_then(|e| e.data().map(<[u8]>::to_vec)),
        Some(b"one".to_vec())
    );
    assert!(splitter.next_event().is_none());
    assert_eq!(splitter.buffered_len(), 10);
    let last = splitter.finish();
    assert_eq!(last.as_ref().map(SseEvent::raw), Some(&b"data: two\n"[..]));
    assert_eq!(last.as_ref().and_then(SseEvent::data), Some(&b"two"[..]));
    assert!(splitter.finish().is_none());
    assert_eq!(splitter.buffered_len(), 0);
}

#[test]
fn a_trailing_carriage_return_waits_for_the_next_byte() {
    let mut splitter = SseEventSplitter::new();
    splitter.push_slice(b"data: x\r\n\r");
    assert!(splitter.next_event().is_none());
    splitter.push_slice(b"\ndata: y\r\r");
    assert_eq!(
        splitter.next_event().map(SseEvent::into_raw),
        Some(Bytes::from_static(b"data: x\r\n\r\n"))
    );
    assert!(splitter.next_event().is_none());
    let last = splitter.finish();
    assert_eq!(last.as_ref().map(SseEvent::raw), Some(&b"data: y\r\r"[..]));
    assert_eq!(last.as_ref().and_then(SseEvent::data), Some(&b"y"[..]));
}

#[test]
fn a_bom_opening_the_stream_is_kept_but_not_read_as_a_field() {
    let input = b"\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n";
    let events = one_push(input);
    assert_eq!(events[0].data(), Some(&b"a"[..]));
    assert_eq!(events[1].data(), None);
    assert_eq!(joined_raw(&events), input);
}

#[test]
fn split_at_every_offset_of_a_recording_in_every_style() {
    for eol in ["\n", "\r\n", "\r"] {
        let input = wire(&recording("xai-text.chunks.txt"), eol);
        let whole = one_push(&input);
        assert_eq!(whole.len(), 9);
        for cut in 0..=input.len() {
            assert_eq!(split_at(&input, &[cut]), whole, "eol {eol:?} cut {cut}");
        }
    }
}

#[test]
fn openai_recording_split_at_early_offsets_and_one_byte_at_a_time() {
    let input = wire(&recording("openai-text.chunks.txt"), "\n");
    let whole = one_push(&input);
    assert_eq!(joined_raw(&whole), input);
    for cut in 0..1500 {
        assert_eq!(split_at(&input, &[cut, cut + 333]), whole, "cut {cut}");
    }
    let every_byte: Vec<usize> = (1..input.len()).collect();
    assert_eq!(split_at(&input, &every_byte), whole);
}

#[test]
fn reads_that_end_on_event_ends_are_not_copied() {
    let read = Bytes::from_static(b"data: a\n\ndata: b\n\n");
    let mut splitter = SseEventSplitter::new();
    splitter.push(read.clone());
    let first = splitter
        .next_event()
        .map(SseEvent::into_raw)
        .unwrap_or_default();
    assert_eq!(first, Bytes::from_static(b"data: a\n\n"));
    assert_eq!(first.as_ptr(), read.as_ptr());
}

// ----- StreamText

fn reference_text(lines: &str, field: &str) -> String {
    let mut text = String::new();
    for line in lines.lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for choice in value["choices"].as_array().into_iter().flatten() {
            text.push_str(choice["delta"][field].as_str().unwrap_or_default());
        }
    }
    text
}

fn stream_text_of(lines: &str) -> StreamText {
    let mut text = StreamText::new();
    for event in one_push(&wire(lines, "\n")) {
        text.add_chunk(event.data().unwrap_or_default());
    }
    text
}

#[test]
fn stream_text_reconstructs_the_openai_recording() {
    let lines = recording("openai-text.chunks.txt");
    let text = stream_text_of(&lines);
    let reference = reference_text(&lines, "content");
    assert_eq!(reference.len(), 1730);
    assert_eq!(text.text(), reference);
    assert!(text
        .text()
        .starts_with("**Holiday Name:** Harmony Day\n\n**Date:**"));
    assert!(text
        .text()
        .ends_with("human experiences and mutual respect."));
    assert_eq!(text.other_text(), "");
    assert_eq!(text.untracked_bytes(), 0);
}

#[test]
fn stream_text_keeps_reasoning_apart() {
    let text = stream_text_of(&recording("xai-text.chunks.txt"));
    assert_eq!(text.text(), "Hello");
    assert_eq!(text.other_text(), "First, the user said");
}

#[test]
fn escapes_and_unicode_decode_like_a_json_parser() {
    let raw = r#"{"choices":[{"delta":{"content":"a\"b\\c\/d\b\f\n\r\t \u00e9\u4e2d \ud83d\ude00 é中😀 \u0041"}}]}"#;
    let mut text = StreamText::new();
    text.add_chunk(raw.as_bytes());
    let reference = reference_text(raw, "content");
    assert_eq!(text.text(), "a\"b\\c/d\u{8}\u{c}\n\r\t é中 😀 é中😀 A");
    assert_eq!(text.text(), reference);
}

#[test]
fn lone_surrogates_read_as_replacement_characters() {
    let mut text = StreamText::new();
    text.add_chunk(br#"{"choices":[{"delta":{"content":"x\ud800y\udc00z\ud83d\u0041"}}]}"#);
    assert_eq!(text.text(), "x\u{fffd}y\u{fffd}z\u{fffd}A");
}

#[test]
fn key_spacing_null_values_and_lookalike_values() {
    let mut text = StreamText::new();
    text.add_chunk(b"{\"choices\": [{\"delta\": {\"content\" : \"a b\"}}]}");
    text.add_chunk(br#"{"choices":[{"delta":{"role":"content","content":null}}]}"#);
    text.add_chunk(br#"{"choices":[{"delta":{"content":"\"content\":\"no\""},"logprobs":{"content":[{"token":"x"}]}}]}"#);
    assert_eq!(text.text(), "a b\"content\":\"no\"");
}

#[test]
fn reasoning_is_not_counted_twice_and_tool_arguments_count() {
    let mut text = StreamText::new();
    text.add_chunk(br#"{"choices":[{"delta":{"reasoning_content":"think","reasoning":"think"}}]}"#);
    text.add_chunk(br#"{"choices":[{"delta":{"reasoning":" more","reasoning_details":[{"type":"reasoning.text","text":" more"}]}}]}"#);
    text.add_chunk(br#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"q\":"}}]}}]}"#);
    text.add_chunk(
        br#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
    );
    assert_eq!(text.other_text(), "think more{\"q\":1}");
    assert_eq!(text.text(), "");
}

#[test]
fn a_full_message_chunk_is_parsed_and_only_deltas_count() {
    let mut text = StreamText::new();
    text.add_chunk(br#"{"choices":[{"delta":{"content":"!"},"message":{"role":"assistant","content":"Hello!"}}]}"#);
    assert_eq!(text.text(), "!");
}

#[test]
fn content_arrays_are_parsed() {
    let mut text = StreamText::new();
    text.add_chunk(br#"{"choices":[{"delta":{"content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}},{"type":"text","text":"b"}]}}]}"#);
    text.add_chunk(br#"{"choices":[{"delta":{"content":"c"},"logprobs":{"content":[{"token":"c","logprob":-0.1,"bytes":[99],"top_logprobs":[]}]}}]}"#);
    assert_eq!(text.text(), "abc");
}

#[test]
fn a_malformed_string_adds_nothing_and_keeps_what_was_there() {
    let mut text = StreamText::new();
    text.add_chunk(br#"{"choices":[{"delta":{"content":"kept"}}]}"#);
    let broken: [&[u8]; 5] = [
        br#"{"choices":[{"delta":{"content":"a","reasoning_content":"b\x"}}]}"#,
        br#"{"choices":[{"delta":{"content":"unterminated"#,
        b"{\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}",
        br#"{"choices":[{"delta":{"content":"\u12"}}]}"#,
        br#"{"choices":[{"delta":{"content":"trailing\"#,
    ];
    for data in broken {
        text.add_chunk(data);
    }
    assert_eq!(text.text(), "kept");
    assert_eq!(text.other_text(), "");
}

#[test]
fn text_past_the_limit_is_counted_not_kept() {
    let piece = "x".repeat(1024 * 1024);
    let chunk = format!(r#"{{"choices":[{{"delta":{{"content":"{piece}"}}}}]}}"#);
    let mut text = StreamText::new();
    for _ in 0..4 {
        text.add_chunk(chunk.as_bytes());
    }
    assert_eq!(text.text().len(), STREAM_TEXT_LIMIT);
    text.add_chunk(br#"{"choices":[{"delta":{"content":"abc","reasoning_content":"de"}}]}"#);
    assert_eq!(text.text().len(), STREAM_TEXT_LIMIT);
    assert_eq!(text.other_text(), "");
    assert_eq!(text.untracked_bytes(), 5);
}

// ----- properties

fn sse_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"data:".to_vec()),
        Just(b": ping".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"[DONE]".to_vec()),
        Just(b"{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(atoms, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn splitter_never_loses_bytes(input in sse_like_bytes(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let split = split_at(&input, &cuts);
        prop_assert_eq!(joined_raw(&split), input.clone());
        prop_assert_eq!(split, one_push(&input));
    }

    #[test]
    fn splitter_never_loses_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(input.len() + 1);
        let split = split_at(&input, &[cut]);
        prop_assert_eq!(joined_raw(&split), input.clone());
        for event in &split {
            let _ = (event.data(), event.is_done(), event.is_comment_only());
        }
    }

    #[test]
    fn readers_never_panic(input in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = inspect_chunk(&input);
        let _ = usage_from_body(&input);
        let mut text = StreamText::new();
        text.add_chunk(&input);
        prop_assert!(text.text().len() <= input.len());
    }

    #[test]
    fn readers_never_panic_on_json_like_input(input in "[{}\\[\\]\",:a-z0-9\\\\ ]{0,200}") {
        let data = format!(r#"{{"choices":[],"usage":{{"prompt_tokens":1}},"error":"{input}", "content":"{input}"#);
        let _ = inspect_chunk(data.as_bytes());
        let _ = usage_from_body(data.as_bytes());
        StreamText::new().add_chunk(data.as_bytes());
    }

    #[test]
    fn stream_text_decodes_any_string_exactly(content in any::<String>(), reasoning in "\\PC{0,40}") {
        let chunk = serde_json::json!({"choices":[{"delta":{"content": content, "reasoning_content": reasoning}}]});
        let mut text = StreamText::new();
        text.add_chunk(chunk.to_string().as_bytes());
        prop_assert_eq!(text.text(), content.as_str());
        prop_assert_eq!(text.other_text(), reasoning.as_str());
    }
}

/// The one-parse body inspection must agree with the three separate readings it replaces.
fn separate_readings(body: &[u8]) -> BodyFacts {
    BodyFacts {
        is_json: serde_json::from_slice::<IgnoredAny>(body).is_ok(),
        usage: usage_from_body(body),
        error: inspect_chunk(body).error,
    }
}

#[test]
fn body_inspection_agrees_with_the_separate_readings() {
    let bodies: [&[u8]; 12] = [
        br#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        br#"{"error":{"message":"quota","type":"insufficient_quota"}}"#,
        br#"{"error":"plain","usage":{"total_tokens":4}}"#,
        br#"{"usage":null,"choices":[]}"#,
        br#"<html>502 Bad Gateway</html>"#,
        br#""a string with \"usage\":{ inside""#,
        br#"[{"usage":{"prompt_tokens":1}}]"#,
        br#"[]"#,
        br#"{"usage":{"prompt_tokens":1}"#,
        br#"{"x_groq":{"usage":{"prompt_tokens":5,"completion_tokens":1}}}"#,
        br#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
        b"",
    ];
    for body in bodies {
        assert_eq!(
            inspect_body(body),
            separate_readings(body),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

proptest! {
    #[test]
    fn body_inspection_agrees_on_any_text(body in r#"[{}\[\]":,a-z0-9 ]{0,80}|\{"usage":\{[a-z_":0-9,]{0,40}\}\}"#) {
        prop_assert_eq!(inspect_body(body.as_bytes()), separate_readings(body.as_bytes()));
    }
}

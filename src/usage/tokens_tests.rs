//! Tests of token estimation: exact tiktoken counts and request-body estimates.

use super::*;
use proptest::prelude::*;
use serde_json::json;

#[test]
fn tokenizer_follows_the_model_family() {
    let o200k = [
        "gpt-4o",
        "GPT-4o-mini",
        "openai/gpt-4.1-nano",
        "azure/eu/gpt-4.5-preview",
        "gpt-5",
        "o1",
        "o3-mini",
        "o4-mini-2025-04-16",
        "chatgpt-4o-latest",
        "ft:gpt-4o-mini-2024-07-18:org::abc",
        "openai/gpt-oss-120b",
        "codex-mini-latest",
    ];
    let cl100k = [
        "gpt-4",
        "gpt-3.5-turbo",
        "text-embedding-3-small",
        "qwen/qwen3-30b-a3b:free",
        "deepseek-chat",
        "o1x",
        "claude-sonnet-4-5",
        "",
    ];
    for model in o200k {
        assert_eq!(
            tokenizer_family(model),
            TokenizerFamily::O200kBase,
            "{model}"
        );
    }
    for model in cl100k {
        assert_eq!(
            tokenizer_family(model),
            TokenizerFamily::Cl100kBase,
            "{model}"
        );
    }
}

#[test]
fn counts_match_tiktoken() {
    // Figures from OpenAI's tiktoken cookbook ("How to count tokens with tiktoken").
    let cases = [
        ("hello world", 2, 2),
        ("tiktoken is great!", 6, 6),
        ("antidisestablishmentarianism", 6, 6),
        ("You are a helpful assistant.", 6, 6),
        ("你好，世界", 3, 6),
        ("", 0, 0),
    ];
    for (text, o200k, cl100k) in cases {
        assert_eq!(count_text_tokens("gpt-4o", text), o200k, "{text}");
        assert_eq!(count_text_tokens("gpt-4", text), cl100k, "{text}");
    }
}

#[test]
fn long_prose_counts_exactly_as_one_piece() {
    let content = "**Holiday Name:** Harmony Day\n\n**Date:** Celebrated annually, it's a day \
                   for \"kindness\" (and 3,141 small things); ";
    let text = content.repeat(250);
    assert!(text.len() > 10 * SEGMENT_TARGET);
    for (model, bpe) in [
        ("gpt-4o", tiktoken_rs::o200k_base_singleton()),
        ("gpt-4", tiktoken_rs::cl100k_base_singleton()),
    ] {
        let whole = bpe.encode_ordinary(&text).len() as u64;
        assert_eq!(count_text_tokens(model, &text), whole, "{model}");
    }
}

#[test]
fn unbroken_runs_are_cut_and_stay_fast() {
    // 'a' x 512 is 64 tokens and 'a' x 320 is 40: 200_000 = 390 x 512 + 320.
    assert_eq!(
        count_text_tokens("gpt-4o", &"a".repeat(200_000)),
        390 * 64 + 40
    );
    // ' ' x 512 is 4 tokens and ' ' x 160 is 2: 100_000 = 195 x 512 + 160.
    assert_eq!(
        count_text_tokens("gpt-4", &" ".repeat(100_000)),
        195 * 4 + 2
    );
    // A cut never splits a character: 3-byte CJK characters, 171 of them per 512 bytes.
    let cjk = "中".repeat(10_000);
    assert!(count_text_tokens("gpt-4o", &cjk) > 0);
    let segments: Vec<&str> = Segments { text: &cjk, at: 0 }.collect();
    assert_eq!(segments.concat(), cjk);
    assert_eq!(segments[0].len(), 510);
}

#[test]
fn chat_body_uses_openai_message_overhead() {
    // (3 + "system" 1 + "You are a helpful assistant." 6)
    // + (3 + "user" 1 + "hello world" 2) + 3 reply priming = 19.
    let body = json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "hello world"}
    ]});
    assert_eq!(estimate_prompt_tokens("gpt-4o", &body), 19);
    assert_eq!(estimate_prompt_tokens("gpt-4", &body), 19);
}

#[test]
fn chat_body_with_parts_names_images_tools_and_tool_calls() {
    // user: 3 + "user" 1 + "hello world" 2 + low-detail image 85 + name (1 + "bob" 1) = 93
    // + high-detail image part alone in a second message: 3 + 1 + 765 = 769
    // assistant: 3 + "assistant" 1 + "get_weather" 2 + "{\"city\":\"Paris\"}" 5 = 11
    // tool: 3 + "tool" 1 + "sunny" 2 = 6 (tool_call_id not counted)
    // + 3 priming + tools' compact JSON 30 = 912.
    let body = json!({
        "messages": [
            {"role": "user", "name": "bob", "content": [
                {"type": "text", "text": "hello world"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}
            ]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
        ],
        "tools": [{"function": {"name": "get_weather", "parameters": {"properties": {"city": {"type": "string"}}, "type": "object"}}, "type": "function"}]
    });
    assert_eq!(
        estimate_prompt_tokens("gpt-4o-mini", &body),
        93 + 769 + 11 + 6 + 3 + 30
    );
}

#[test]
fn completions_and_embeddings_bodies() {
    let model = "gpt-3.5-turbo-instruct";
    let cases = [
        (json!({"prompt": "hello world"}), 2),
        (json!({"prompt": ["hello world", "tiktoken is great!"]}), 8),
        (json!({"prompt": [[1, 2, 3], [4]]}), 4),
        (json!({"prompt": [15339, 1917]}), 2),
        (json!({"input": "hello world"}), 2),
        (json!({"input": ["hello world", [1, 2], null, true]}), 4),
        (
            json!({"input": [{"role": "user", "content": "hello world"}]}),
            6,
        ),
    ];
    for (body, tokens) in cases {
        assert_eq!(estimate_prompt_tokens(model, &body), tokens, "{body}");
    }
}

#[test]
fn odd_bodies_never_panic() {
    let cases = [
        (json!([]), 0),
        (json!(null), 0),
        (json!({"messages": "hello world"}), 0),
        (json!({"messages": []}), 3),
        (
            json!({"messages": [1, null, {"role": 5, "content": {"x": 1}}]}),
            6,
        ),
        (
            json!({"messages": [{"role": "user", "content": [1, {"type": "input_audio"}, "hello world"]}]}),
            9,
        ),
        (json!({"prompt": {"nested": true}}), 3),
    ];
    for (body, tokens) in cases {
        assert_eq!(estimate_prompt_tokens("gpt-4o", &body), tokens, "{body}");
    }
}

#[test]
fn quick_estimate_is_bytes_over_four_rounded_down() {
    let cases = [(0, 0), (1, 0), (3, 0), (4, 1), (600, 150), (603, 150)];
    for (len, tokens) in cases {
        assert_eq!(quick_prompt_estimate(len), tokens, "{len}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn segmented_prose_counts_exactly(text in "[A-Za-z0-9.,!?']{1,12}( [A-Za-z0-9.,!?']{1,12}){0,900}") {
        let whole = tiktoken_rs::o200k_base_singleton().encode_ordinary(&text).len() as u64;
        prop_assert_eq!(count_text_tokens("gpt-4o", &text), whole);
    }

    #[test]
    fn counting_never_panics_and_never_loses_text(text in any::<String>(), model in "\\PC{0,20}") {
        let segments: Vec<&str> = Segments { text: &text, at: 0 }.collect();
        prop_assert_eq!(segments.concat(), text.clone());
        let _ = count_text_tokens(&model, &text);
    }
}

#[test]
fn a_system_prompt_beside_the_messages_counts_as_the_chat_system_message() {
    let system = "You are a careful assistant who answers in one sentence. ".repeat(20);
    let user = json!({"role": "user", "content": "What is a quantum computer?"});
    let chat = json!({"messages": [{"role": "system", "content": system}, user]});
    let expected = estimate_prompt_tokens("gpt-4o", &chat);
    assert!(expected > 200, "{expected}");
    // Anthropic Messages: `system` as a string, or as text blocks.
    let messages = json!({"system": system, "messages": [user]});
    assert_eq!(estimate_prompt_tokens("gpt-4o", &messages), expected);
    let blocks = json!({"system": [{"type": "text", "text": system}], "messages": [user]});
    assert_eq!(estimate_prompt_tokens("gpt-4o", &blocks), expected);
    // The Responses API: `instructions`, and the input as items (no reply priming there).
    let responses = json!({"instructions": system, "input": [{"role": "user", "content": [{"type": "input_text", "text": "What is a quantum computer?"}]}]});
    assert_eq!(
        estimate_prompt_tokens("gpt-4o", &responses),
        expected - REPLY_PRIMING_TOKENS
    );
}

#[test]
fn tool_blocks_and_function_items_are_counted() {
    let call = json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "/etc/hosts"}}]}]});
    let empty = json!({"messages": [{"role": "assistant", "content": []}]});
    assert!(estimate_prompt_tokens("gpt-4o", &call) > estimate_prompt_tokens("gpt-4o", &empty) + 5);
    let result = json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "127.0.0.1 localhost"}]}]});
    let empty_user = json!({"messages": [{"role": "user", "content": []}]});
    assert!(
        estimate_prompt_tokens("gpt-4o", &result)
            > estimate_prompt_tokens("gpt-4o", &empty_user) + 3
    );
    let items = json!({"input": [
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{\"path\":\"/etc/hosts\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": "127.0.0.1 localhost"}
    ]});
    assert!(estimate_prompt_tokens("gpt-4o", &items) > 15);
}

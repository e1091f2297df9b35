//! Property fuzzing at scale for everything that reads untrusted text: the query parser and
//! resolver, the model-name analyser, the SSE splitter and usage tap, the request-body parser,
//! error classification, config loading, and what the history indexes of a stored body. Nothing may panic, and a few invariants must hold.
//!
//! In `cargo test` each property runs 256 cases. For a longer run (as done before each release):
//!
//!     PROPTEST_CASES=200000 cargo test --release --test fuzz
//!
//! (cargo-fuzz needs a nightly toolchain, which this project's machines do not have; proptest
//! with generators shaped like real input covers the same ground on stable.)

use bytes::Bytes;
use proptest::prelude::*;
use smart_ai_router::catalog::names::{
    analyse, parse_context_size, parse_param_size, strip_date_suffix,
};
use smart_ai_router::catalog::ModelKind;
use smart_ai_router::config::{load_config, ConfigSource};
use smart_ai_router::history::known_secrets::KnownSecrets;
use smart_ai_router::history::row::{cut_at, stored_body, uncut};
use smart_ai_router::history::search_text::push_searchable;
use smart_ai_router::history::shorten::Json;
use smart_ai_router::proxy::request::ClientRequest;
use smart_ai_router::query::{parse_query, resolve, Needs, Query};
use smart_ai_router::upstream::classify::{classify_status, parse_retry_after, wait_hint};
use smart_ai_router::upstream::sse::SseEventSplitter;
use smart_ai_router::usage::stream_text::StreamText;
use smart_ai_router::usage::tap::{inspect_chunk, usage_from_body};

/// Strings shaped like queries: prefixes, tags, negations, filters, separators, junk.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z0-9.]{1,10}",
        "![a-z0-9]{0,8}",
        "(ctx)?[<>=]{1,2}[0-9.]{0,5}(k|ki|m|b|t|x)?[0-9]{0,2}b?",
        "[ ,:!<>=/-]{1,3}",
        "\\PC{1,4}",
    ];
    (
        prop_oneof!["", "tag:", "TAGS:", "tags:"],
        prop::collection::vec(piece, 0..8),
    )
        .prop_map(|(prefix, pieces)| format!("{prefix}{}", pieces.join(",")))
}

/// Model-id-like strings.
fn model_id_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9./:@_-]{0,80}",
        "([a-z]{2,8}/)?[a-z]{2,8}[0-9.]{0,4}(-[0-9]{1,4}[bBmMkK])?(-a[0-9]{1,2}b)?(-[0-9]{8})?(:[a-z0-9_]{1,12})?",
        "\\PC{0,60}",
    ]
}

/// SSE-like byte streams.
fn sse_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}".to_vec()),
        Just(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}"
                .to_vec()
        ),
        Just(b"data:{\"error\":{\"message\":\"x\"}}".to_vec()),
        Just(b"data: [DONE]".to_vec()),
        Just(b": keep-alive".to_vec()),
        Just(b"event: message".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let end = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(Vec::new())
    ];
    prop::collection::vec((line, end), 0..20).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(l, e)| l.into_iter().chain(e))
            .collect()
    })
}

/// A chat body (as clients send it, some with every non-ASCII character escaped as `json.dumps`
/// does) with random texts in its strings.
fn chat_body_like() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(("\\PC{0,12}", "\\PC{0,40}"), 0..5),
        any::<bool>(),
    )
        .prop_map(|(messages, ascii_only)| {
            let messages: Vec<serde_json::Value> = messages
                .into_iter()
                .map(|(role, content)| serde_json::json!({"role": role, "content": content, "n": 1.5}))
                .collect();
            let body = serde_json::json!({"model": "m", "messages": messages, "stream": false}).to_string();
            if !ascii_only {
                return body;
            }
            let mut escaped = String::with_capacity(body.len());
            for c in body.chars() {
                if c.is_ascii() {
                    escaped.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        escaped.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
            escaped
        })
}

/// A conversation with texts long enough to be cut, some with a system message first; the
/// model and tools around it.
fn long_chat_body_like() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(("(user|assistant|tool)", "\\PC{0,300}"), 1..12),
        "\\PC{0,400}",
    )
        .prop_map(|(system, turns, tool_description)| {
            let mut messages = Vec::new();
            if system {
                messages.push(serde_json::json!({"role": "system", "content": "You are terse."}));
            }
            messages.extend(
                turns
                    .into_iter()
                    .map(|(role, content)| serde_json::json!({"role": role, "content": content})),
            );
            serde_json::json!({
                "model": "m",
                "messages": messages,
                "tools": [{"type": "function", "function": {"name": "read", "description": tool_description}}],
                "max_tokens": 100,
            })
            .to_string()
        })
}

proptest! {
    #[test]
    fn a_stored_body_cut_anywhere_is_read_up_to_the_cut(body in chat_body_like(), cut in 0usize..400) {
        let whole = stored_body(body.as_bytes(), usize::MAX, &KnownSecrets::default());
        let (text, was_cut) = uncut(&whole);
        prop_assert!(!was_cut);
        let mut whole_lines = String::new();
        push_searchable(text, false, &mut whole_lines);
        // The cut a body gets when it cannot be shortened as JSON (see the next property).
        let stored = if cut < text.len() { cut_at(text, cut) } else { text.to_string() };
        let (head, was_cut) = uncut(&stored);
        prop_assert_eq!(was_cut, cut < text.len());
        let mut cut_lines = String::new();
        push_searchable(head, was_cut, &mut cut_lines);
        // The cut reading is the whole reading up to the cut: its lines, all but the last
        // whole, the last a start of its line.
        let whole_lines: Vec<&str> = whole_lines.lines().collect();
        let cut_lines: Vec<&str> = cut_lines.lines().collect();
        if let Some((last, before)) = cut_lines.split_last() {
            prop_assert!(cut_lines.len() <= whole_lines.len(), "{:?} / {:?}", cut_lines, whole_lines);
            prop_assert_eq!(before, &whole_lines[..before.len()]);
            prop_assert!(whole_lines[before.len()].starts_with(last), "{:?} / {:?}", cut_lines, whole_lines);
        }
    }

    #[test]
    fn a_long_body_is_stored_within_its_limit_and_json_stays_json(
        body in long_chat_body_like(),
        max in 0usize..1500,
    ) {
        let whole = stored_body(body.as_bytes(), usize::MAX, &KnownSecrets::default());
        let stored = stored_body(body.as_bytes(), max, &KnownSecrets::default());
        let (head, was_cut) = uncut(&stored);
        if whole.len() <= max {
            prop_assert_eq!(&stored, &whole);
        } else if was_cut {
            // Cut as bytes: the body's start, at most `max` bytes of it.
            prop_assert!(head.len() <= max && whole.starts_with(head));
        } else {
            // Shortened: JSON within the limit, with the same keys in the same order, and
            // the newest message's role kept.
            prop_assert!(stored.len() <= max, "{} > {max}: {stored}", stored.len());
            let short = serde_json::from_str::<Json>(&stored);
            let original = serde_json::from_str::<Json>(&whole);
            let (Ok(Json::Object(short)), Ok(Json::Object(original))) = (short, original) else {
                return Err(TestCaseError::fail(format!("not a JSON object: {stored}")));
            };
            let keys = |o: &[(String, Json)]| o.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            prop_assert_eq!(keys(&short), keys(&original));
            let last_role = |o: &[(String, Json)]| match o.iter().find(|(k, _)| k == "messages") {
                Some((_, Json::List(m))) => m.last().cloned(),
                _ => None,
            };
            let role = |m: Option<Json>| match m {
                Some(Json::Object(fields)) => fields.into_iter().find(|(k, _)| k == "role").map(|(_, v)| v),
                _ => None,
            };
            prop_assert_eq!(role(last_role(&short)), role(last_role(&original)));
        }
    }

    #[test]
    fn queries_parse_and_resolve_without_panicking(text in query_like()) {
        let (config, catalog) = crate::support::catalog::realistic_catalog();
        if let Ok(query) = parse_query(&text) {
            let needs = Needs { kind: ModelKind::Chat, filters: &config.routing.model_filters, context_tokens: Some(1000) };
            if let Ok(resolution) = resolve(catalog, &text, &query, &needs, true) {
                // Negatives always exclude.
                if let Query::Tags(tags) = &query {
                    for id in &resolution.candidates {
                        let entry = catalog.entry(*id);
                        prop_assert!(entry.is_some());
                        let entry = entry.map(|e| e.tags.clone()).unwrap_or_default();
                        for negative in &tags.negatives {
                            prop_assert!(!entry.contains(negative), "{text}: {negative} in {entry:?}");
                        }
                        for positive in &tags.positives {
                            prop_assert!(entry.contains(positive), "{text}: {positive} not in {entry:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn model_names_are_analysed_sanely(id in model_id_like()) {
        let facts = analyse(&id);
        for tag in &facts.tags {
            prop_assert!(!tag.is_empty());
            prop_assert_eq!(tag.to_lowercase(), tag.clone());
        }
        if let Some(p) = facts.params_b { prop_assert!((0.01..=3000.0).contains(&p), "{id}: {p}"); }
        if let Some(c) = facts.context_tokens { prop_assert!((512..=20_000_000).contains(&c), "{id}: {c}"); }
        let _ = (parse_param_size(&id), parse_context_size(&id), strip_date_suffix(&id));
    }

    #[test]
    fn the_sse_tap_never_loses_a_byte(bytes in sse_like(), cuts in prop::collection::vec(0usize..64, 0..12)) {
        let mut splitter = SseEventSplitter::new();
        let mut text = StreamText::new();
        let mut out = Vec::new();
        let mut rest: &[u8] = &bytes;
        for cut in cuts {
            let at = cut.min(rest.len());
            splitter.push(Bytes::copy_from_slice(&rest[..at]));
            rest = &rest[at..];
            while let Some(event) = splitter.next_event() {
                if let Some(data) = event.data() {
                    let _ = inspect_chunk(data);
                    text.add_chunk(data);
                }
                out.extend_from_slice(event.raw());
            }
        }
        splitter.push(Bytes::copy_from_slice(rest));
        while let Some(event) = splitter.finish() {
            out.extend_from_slice(event.raw());
        }
        prop_assert_eq!(out, bytes);
    }

    #[test]
    fn request_bodies_and_upstream_answers_never_panic(body in "\\PC{0,120}", status in 100u16..600, hint in "\\PC{0,40}") {
        if let Ok(request) = ClientRequest::parse(Bytes::from(body.clone())) {
            let rewritten = request.upstream_body("m", true);
            prop_assert!(serde_json::from_slice::<serde_json::Value>(&rewritten).is_ok());
        }
        let _ = usage_from_body(body.as_bytes());
        let _ = classify_status(status, &Default::default(), body.as_bytes(), std::time::SystemTime::now());
        let _ = (wait_hint(&hint), parse_retry_after(&hint, std::time::SystemTime::now()));
    }

    #[test]
    fn config_loading_reports_errors_and_never_panics(yaml in prop_oneof![
        "\\PC{0,200}",
        "(server|routing|channels|auth|usage|discovery|cost_control):( \\{[a-z_]{1,12}: [a-z0-9.${}:-]{0,12}\\}| \\[[a-z0-9, {}:]{0,30}\\]| [a-z0-9-]{0,10})",
    ]) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(config.join("providers.yaml"), crate::support::TEST_PROVIDERS).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(config.join("router_config.yaml"), &yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match load_config(&ConfigSource::new(&config)) {
            Ok(_) => {}
            Err(errors) => prop_assert!(!errors.0.is_empty()),
        }
    }
}

//! The client's request body: the few fields routing needs, read without building a JSON tree,
//! and the upstream body with only `model` (and `stream_options`) rewritten.
//!
//! The body is scanned once into a borrowed envelope (`model`, `stream`, `stream_options`,
//! `max_tokens`, `max_completion_tokens`; everything else is skipped, not parsed into values).
//! The byte span of `model` is kept, so the upstream body is the client's bytes with that span
//! replaced: tools, images, `response_format`, unknown fields and key order all survive, byte
//! for byte. When the client streams without `stream_options.include_usage`, the gateway asks
//! for it (docs/usage-records.md): inserted after the opening `{`, or merged into the client's own
//! `stream_options` object. Duplicate top-level keys are rejected (which `model` would win is
//! ambiguous). A `model` longer than [`MAX_MODEL_BYTES`] is refused before routing, and what
//! a client sent is shown in error messages through [`clip_client_text`], so neither a record
//! nor an error grows with what a client typed.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::RouteError;

/// Longest `model` accepted (a model id or a tag query is far shorter).
pub const MAX_MODEL_BYTES: usize = 4096;
/// Characters of client text shown in an error message.
pub const MAX_SHOWN_CHARS: usize = 512;

/// Why `model` (a call's, or a query to explain) is refused for its length, if it is.
pub fn model_too_long(model: &str) -> Option<String> {
    (model.len() > MAX_MODEL_BYTES).then(|| {
        format!(
            "`model` is {} bytes long; at most {MAX_MODEL_BYTES} are accepted (a model name or a tag query).",
            model.len()
        )
    })
}

/// `text` cut to [`MAX_SHOWN_CHARS`] characters (saying so), for messages that echo what a
/// client sent.
pub fn clip_client_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        None => text.into(),
        Some((at, _)) => format!("{}… (cut: {} bytes in all)", &text[..at], text.len()).into(),
    }
}

/// What routing needs from a request body.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub body: Bytes,
    /// The `model` string as the client sent it (unescaped).
    pub model: String,
    pub stream: bool,
    /// The client asked for `stream_options.include_usage: true` itself.
    pub include_usage_asked: bool,
    /// `max_tokens` or `max_completion_tokens`.
    pub max_tokens: Option<u64>,
    /// Where `model` is in the body; `None` when the client sent none.
    model_span: Option<Range<usize>>,
    stream_options_span: Option<Range<usize>>,
    /// Index just after the body's opening `{`.
    open_brace: usize,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    model: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream_options: Option<&'a RawValue>,
    max_tokens: Option<serde_json::Value>,
    max_completion_tokens: Option<serde_json::Value>,
}

/// A key that is present is `Some`, even when its value is `null` (serde's `Option` would
/// make `"model": null` look like a missing key).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

fn span_of(body: &[u8], raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start + raw.get().len();
    (end <= body.len()).then_some(start..end)
}

fn invalid(message: impl Into<String>) -> RouteError {
    RouteError::bad_request("invalid_request_body", message)
}

impl ClientRequest {
    /// Read the fields routing needs; a clear 400 for every way a body can be wrong.
    pub fn parse(body: Bytes) -> Result<Self, RouteError> {
        let first = body.iter().position(|b| !b.is_ascii_whitespace());
        let Some(first) = first else {
            return Err(invalid(
                "The request body is empty: send a JSON object such as {\"model\": \"tag:free\", \"messages\": [...]}.",
            ));
        };
        if body[first] != b'{' {
            let what = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(serde_json::Value::Array(_)) => "an array",
                Ok(serde_json::Value::String(_)) => "a string",
                Ok(serde_json::Value::Bool(_)) => "a boolean",
                Ok(serde_json::Value::Null) => "null",
                Ok(serde_json::Value::Number(_)) => "a number",
                _ => "text that is not JSON",
            };
            return Err(invalid(format!(
                "The request body must be a JSON object; got {what}."
            )));
        }
        let envelope: Envelope<'_> = serde_json::from_slice(&body).map_err(|e| {
            RouteError::bad_request(
                "invalid_json",
                format!("The request body is not valid JSON: {e}."),
            )
        })?;
        // No `model`: routed by `routing.default_model` and `routing.rules` (`proxy::handle`).
        let model_raw = envelope.model;
        let model: String = match model_raw.map(|raw| (raw, raw.get().as_bytes().first())) {
            None => String::new(),
            Some((raw, Some(b'"'))) => serde_json::from_str(raw.get()).map_err(|e| {
                invalid(format!("`model` is not a valid string: {e}.")).with_param("model")
            })?,
            Some((raw, _)) => {
                return Err(invalid(format!(
                    "`model` must be a string, got {}.",
                    raw.get().chars().take(40).collect::<String>()
                ))
                .with_param("model"))
            }
        };
        if let Some(message) = model_too_long(&model) {
            return Err(invalid(message).with_param("model"));
        }
        let stream = match envelope.stream.map(RawValue::get) {
            None | Some("null") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "`stream` must be true or false, got {}.",
                    other.chars().take(40).collect::<String>()
                ))
                .with_param("stream"))
            }
        };
        let include_usage_asked = envelope
            .stream_options
            .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
            .and_then(|v| v.get("include_usage").and_then(serde_json::Value::as_bool))
            .unwrap_or(false);
        let max_tokens = [envelope.max_tokens, envelope.max_completion_tokens]
            .into_iter()
            .flatten()
            .find_map(|v| v.as_u64());
        let model_span = match model_raw {
            None => None,
            Some(raw) => Some(span_of(&body, raw).ok_or_else(|| {
                RouteError::bad_request(
                    "invalid_request_body",
                    "could not locate `model` in the body",
                )
            })?),
        };
        let stream_options_span = envelope.stream_options.and_then(|raw| span_of(&body, raw));
        Ok(Self {
            model,
            stream,
            include_usage_asked,
            max_tokens,
            model_span,
            stream_options_span,
            open_brace: first + 1,
            body,
        })
    }

    /// Whether the body has a `model` key at all.
    pub fn has_model(&self) -> bool {
        self.model_span.is_some()
    }

    /// The upstream body: `model` set to `upstream_model`, and `include_usage` asked for when
    /// `ask_usage` (a stream whose client did not ask). The client's bytes otherwise.
    pub fn upstream_body(&self, upstream_model: &str, ask_usage: bool) -> Bytes {
        let span = self.model_span.clone();
        let same_model = span
            .and_then(|span| self.body.get(span))
            .is_some_and(|raw| {
                raw.len() == upstream_model.len() + 2
                    && &raw[1..raw.len() - 1] == upstream_model.as_bytes()
            });
        if same_model && !ask_usage {
            return self.body.clone();
        }
        let model_json =
            serde_json::to_string(upstream_model).unwrap_or_else(|_| String::from("\"\""));
        let model_edit = match self.model_span.clone() {
            Some(span) => (span, model_json.into_bytes()),
            // No `model` in the body: inserted after the opening brace.
            None => {
                let empty = self.body[self.open_brace..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    == Some(&b'}');
                let text = format!("\"model\":{model_json}{}", if empty { "" } else { "," });
                (self.open_brace..self.open_brace, text.into_bytes())
            }
        };
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = vec![model_edit];
        if ask_usage {
            edits.push(self.include_usage_edit());
        }
        edits.sort_by_key(|(range, _)| range.start);
        let extra: usize = edits.iter().map(|(_, b)| b.len()).sum();
        let mut out = BytesMut::with_capacity(self.body.len() + extra);
        let mut at = 0;
        for (range, replacement) in edits {
            if range.start < at || range.end > self.body.len() {
                continue;
            }
            out.extend_from_slice(&self.body[at..range.start]);
            out.extend_from_slice(&replacement);
            at = range.end;
        }
        out.extend_from_slice(&self.body[at..]);
        out.freeze()
    }

    fn include_usage_edit(&self) -> (Range<usize>, Vec<u8>) {
        if let Some(span) = &self.stream_options_span {
            let merged = self
                .body
                .get(span.clone())
                .and_then(|raw| serde_json::from_slice::<serde_json::Value>(raw).ok())
                .and_then(|v| match v {
                    serde_json::Value::Object(mut map) => {
                        map.insert("include_usage".into(), serde_json::Value::Bool(true));
                        serde_json::to_vec(&map).ok()
                    }
                    _ => None,
                })
                .unwrap_or_else(|| br#"{"include_usage":true}"#.to_vec());
            return (span.clone(), merged);
        }
        (
            self.open_brace..self.open_brace,
            br#""stream_options":{"include_usage":true},"#.to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> ClientRequest {
        match ClientRequest::parse(Bytes::from(body.to_string())) {
            Ok(r) => r,
            Err(e) => panic!("{body}: {e:?}"),
        }
    }

    fn error(body: &str) -> String {
        match ClientRequest::parse(Bytes::from(body.to_string())) {
            Ok(_) => panic!("{body} parsed"),
            Err(e) => e.message().to_string(),
        }
    }

    fn text(bytes: Bytes) -> String {
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn reads_the_routing_fields() {
        let r = parse(r#"{"model":"tag:free,qwen3","stream":true,"max_tokens":64,"messages":[]}"#);
        assert_eq!(r.model, "tag:free,qwen3");
        assert!(r.stream);
        assert!(!r.include_usage_asked);
        assert_eq!(r.max_tokens, Some(64));
        let r = parse(
            r#"{"messages":[],"model":"a\u002Fb","max_completion_tokens":9,"stream_options":{"include_usage":true}}"#,
        );
        assert_eq!(r.model, "a/b");
        assert!(!r.stream);
        assert!(r.include_usage_asked);
        assert_eq!(r.max_tokens, Some(9));
    }

    #[test]
    fn rewrites_only_the_model() {
        let body = r#"{ "model" : "tag:x", "tools":[{"type":"function"}], "zzz": {"a":[1,2]} }"#;
        let r = parse(body);
        assert_eq!(
            text(r.upstream_body("qwen/qwen3-8b:free", false)),
            r#"{ "model" : "qwen/qwen3-8b:free", "tools":[{"type":"function"}], "zzz": {"a":[1,2]} }"#
        );
        // Same model: the very same bytes.
        let same = parse(r#"{"model":"gpt-4o","messages":[]}"#);
        assert_eq!(same.upstream_body("gpt-4o", false), same.body);
        // Quotes and backslashes in the upstream id are escaped.
        assert_eq!(
            text(parse(r#"{"model":"x"}"#).upstream_body("a\"b", false)),
            r#"{"model":"a\"b"}"#
        );
    }

    #[test]
    fn asks_for_usage_when_the_client_streams_without_it() {
        let r = parse(r#"{"model":"m","stream":true,"messages":[]}"#);
        assert_eq!(
            text(r.upstream_body("up", true)),
            r#"{"stream_options":{"include_usage":true},"model":"up","stream":true,"messages":[]}"#
        );
        let r =
            parse(r#"{"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}}"#);
        assert_eq!(
            text(r.upstream_body("m", true)),
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true,"x":1}}"#
        );
        let r = parse(r#"{"stream_options":null,"model":"m","stream":true}"#);
        assert_eq!(
            text(r.upstream_body("m2", true)),
            r#"{"stream_options":{"include_usage":true},"model":"m2","stream":true}"#
        );
    }

    #[test]
    fn every_bad_body_gets_a_clear_message() {
        assert_eq!(error(""), "The request body is empty: send a JSON object such as {\"model\": \"tag:free\", \"messages\": [...]}.");
        assert_eq!(
            error("[1,2]"),
            "The request body must be a JSON object; got an array."
        );
        assert_eq!(
            error("\"hi\""),
            "The request body must be a JSON object; got a string."
        );
        assert_eq!(
            error("{\"model\": \"x\""),
            "The request body is not valid JSON: EOF while parsing an object at line 1 column 13."
        );
        // No `model` parses (routing supplies one); the upstream body gets it inserted.
        let without = parse("{\"messages\": []}");
        assert_eq!(without.model, "");
        assert_eq!(
            text(without.upstream_body("m-1", false)),
            "{\"model\":\"m-1\",\"messages\": []}"
        );
        assert_eq!(
            text(parse(" { } ").upstream_body("m", false)),
            " {\"model\":\"m\" } "
        );
        assert_eq!(
            error("{\"model\": 42}"),
            "`model` must be a string, got 42."
        );
        assert_eq!(
            error("{\"model\": null}"),
            "`model` must be a string, got null."
        );
        assert_eq!(
            error("{\"model\": \"a\", \"model\": \"b\"}"),
            "The request body is not valid JSON: duplicate field `model` at line 1 column 22."
        );
        assert_eq!(
            error("{\"model\": \"a\", \"stream\": \"yes\"}"),
            "`stream` must be true or false, got \"yes\"."
        );
        assert_eq!(
            error("nope"),
            "The request body must be a JSON object; got text that is not JSON."
        );
    }

    #[test]
    fn a_model_past_the_limit_is_refused_and_client_text_is_clipped() {
        let at_limit = format!(r#"{{"model":"{}"}}"#, "a".repeat(MAX_MODEL_BYTES));
        assert_eq!(parse(&at_limit).model.len(), MAX_MODEL_BYTES);
        let over = format!(r#"{{"model":"{}"}}"#, "a".repeat(MAX_MODEL_BYTES + 1));
        assert_eq!(
            error(&over),
            "`model` is 4097 bytes long; at most 4096 are accepted (a model name or a tag query)."
        );
        assert_eq!(clip_client_text("tag:free"), "tag:free");
        let long = "é".repeat(600);
        let clipped = clip_client_text(&long);
        assert_eq!(
            clipped,
            format!("{}… (cut: 1200 bytes in all)", "é".repeat(MAX_SHOWN_CHARS))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_rewrites_stay_json(body in "\\PC{0,200}", model in "\\PC{0,30}") {
            if let Ok(r) = ClientRequest::parse(Bytes::from(body)) {
                let out = r.upstream_body(&model, r.stream);
                let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out);
                proptest::prop_assert!(parsed.is_ok());
                proptest::prop_assert_eq!(parsed.ok().and_then(|v| v["model"].as_str().map(String::from)), Some(model));
            }
        }
    }
}

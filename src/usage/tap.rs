//! The stream tap: token usage, in-stream errors and generated text, read from upstream responses
//! as they pass through the relay (docs/failover.md streaming, docs/usage-records.md usage records).
//!
//! Owns: reading usage and errors from a non-streamed body ([`usage_from_body`],
//! [`inspect_body`]) or from one stream event's data ([`inspect_chunk`]). SSE framing is
//! `upstream::sse`; the generated text kept for an estimate is `stream_text`.
//!
//! Must never: panic on upstream bytes, or parse a plain content delta as JSON (a substring
//! pre-check comes first).
//!
//! Rules decided here:
//! - **Usage fields.** `input_tokens` = `prompt_tokens`, else `input_tokens`; `output_tokens` =
//!   `completion_tokens`, else `output_tokens`; `total_tokens` = the reported `total_tokens` even
//!   when it is not input + output (xAI counts reasoning only in the total), else input + output.
//!   `cached_tokens` is always a part of `input_tokens`: the largest of
//!   `prompt_tokens_details.cached_tokens`, `input_tokens_details.cached_tokens`, DeepSeek's
//!   `prompt_cache_hit_tokens` and Anthropic's `cache_read_input_tokens`. Anthropic's
//!   `input_tokens` leaves cache reads and writes out, so when `prompt_tokens` is absent and a
//!   `cache_*_input_tokens` field is present, input = `input_tokens` + cache reads + cache writes.
//!   `reasoning_tokens` = `completion_tokens_details.reasoning_tokens`, else
//!   `output_tokens_details.reasoning_tokens`. `cache_write_tokens` = Anthropic's
//!   `cache_creation_input_tokens` (a part of input). `audio_input_tokens` /
//!   `audio_output_tokens` = `audio_tokens` of the prompt (input) / completion (output) details. The top-level `usage` wins over Groq's
//!   `x_groq.usage`. Anthropic's `message_start` (usage nested under `message`) is not read; its
//!   `message_delta` carries the final cumulative usage and is.
//! - **No usage.** A `usage` that is null, not an object, or has none of the prompt/input,
//!   completion/output or total counts is no usage (`None`): the caller then estimates.
//!   Counts are read leniently: floats are truncated, numeric strings parsed, negatives and other
//!   types ignored; a wrongly typed field never hides the others.
//! - **Usage-only chunk.** `usage_only` is true exactly when `choices` is an empty array and
//!   usage is present (the chunk `stream_options.include_usage` adds). A chunk whose `choices` is
//!   absent or not empty is never usage-only, whatever it carries.
//! - **Pre-check.** A chunk is parsed only when a `"usage"` key has an object value or an
//!   `"error"` key has an object or string value (`"usage":null`, on every OpenAI chunk, costs no
//!   parse). Keys spelled with `\u` escapes are not seen. JSON with duplicate keys in the parsed
//!   parts, or that is not valid JSON, yields no facts.
//! - **Errors.** An `error` that is a string is the message; an object gives its `message`, else
//!   its `type`, else its `code` (when a string), else "upstream error without a message".

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::lenient_json::*;

/// Token counts of one call, as the upstream reported them (see the module rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Input tokens written to the provider's prompt cache (Anthropic
    /// `cache_creation_input_tokens`); a part of `input_tokens`, like `cached_tokens`.
    pub cache_write_tokens: u64,
    /// Audio input tokens (`prompt_tokens_details.audio_tokens`); a part of `input_tokens`.
    pub audio_input_tokens: u64,
    /// Audio output tokens (`completion_tokens_details.audio_tokens`); a part of
    /// `output_tokens`.
    pub audio_output_tokens: u64,
}

/// Usage of a non-streamed response body (chat, completions, embeddings, Anthropic or Responses
/// style); `None` when the body has no usage object with counts.
pub fn usage_from_body(body: &[u8]) -> Option<Usage> {
    if !key_has_value(body, &USAGE_KEY, b"{") {
        return None;
    }
    serde_json::from_slice::<ResponseView>(body).ok()?.usage()
}

/// What a non-streamed response body is: JSON or not, its usage, its `{"error": ...}` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyFacts {
    pub is_json: bool,
    /// As [`usage_from_body`] reads it.
    pub usage: Option<Usage>,
    /// As [`inspect_chunk`] reads it.
    pub error: Option<String>,
}

/// [`usage_from_body`], [`inspect_chunk`]'s error and a JSON validity check in one parse (the
/// view's parse proves the body is JSON; only a body it cannot read is checked again).
pub fn inspect_body(body: &[u8]) -> BodyFacts {
    let has_usage = key_has_value(body, &USAGE_KEY, b"{");
    let view = if has_usage || key_has_value(body, &ERROR_KEY, b"{\"") {
        serde_json::from_slice::<ResponseView>(body).ok()
    } else {
        None
    };
    match view {
        Some(view) => BodyFacts {
            is_json: true,
            usage: if has_usage { view.usage() } else { None },
            error: view.error.0,
        },
        None => BodyFacts {
            is_json: serde_json::from_slice::<IgnoredAny>(body).is_ok(),
            usage: None,
            error: None,
        },
    }
}

/// What the tap learned from one event's data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkFacts {
    pub usage: Option<Usage>,
    /// `choices == []` and usage present: the chunk the gateway strips when it injected
    /// `stream_options.include_usage`.
    pub usage_only: bool,
    /// The message of an in-stream `{"error": ...}` event.
    pub error: Option<String>,
}

/// Reads one event's data payload; a plain content delta costs one substring scan per key and no
/// JSON parse.
pub fn inspect_chunk(data: &[u8]) -> ChunkFacts {
    let has_usage = key_has_value(data, &USAGE_KEY, b"{");
    if !has_usage && !key_has_value(data, &ERROR_KEY, b"{\"") {
        return ChunkFacts::default();
    }
    let Ok(view) = serde_json::from_slice::<ResponseView>(data) else {
        return ChunkFacts::default();
    };
    let usage = view.usage();
    ChunkFacts {
        usage,
        usage_only: usage.is_some() && view.choices.0,
        error: view.error.0,
    }
}

/// The parts of a response body or stream chunk the tap reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResponseView {
    choices: IsEmptyArray,
    usage: Obj<UsageView>,
    x_groq: Obj<GroqView>,
    error: ErrorField,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroqView {
    usage: Obj<UsageView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UsageView {
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    input_tokens: Count,
    output_tokens: Count,
    prompt_tokens_details: Obj<TokenDetails>,
    input_tokens_details: Obj<TokenDetails>,
    completion_tokens_details: Obj<TokenDetails>,
    output_tokens_details: Obj<TokenDetails>,
    prompt_cache_hit_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation_input_tokens: Count,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenDetails {
    cached_tokens: Count,
    reasoning_tokens: Count,
    audio_tokens: Count,
}

impl ResponseView {
    fn usage(&self) -> Option<Usage> {
        let groq = || self.x_groq.0.as_ref()?.usage.0.as_ref()?.to_usage();
        self.usage
            .0
            .as_ref()
            .and_then(UsageView::to_usage)
            .or_else(groq)
    }
}

impl UsageView {
    fn to_usage(&self) -> Option<Usage> {
        let reported_input = self.prompt_tokens.0.or(self.input_tokens.0);
        let output = self.completion_tokens.0.or(self.output_tokens.0);
        let total = self.total_tokens.0;
        if reported_input.is_none() && output.is_none() && total.is_none() {
            return None;
        }
        let input = reported_input
            .unwrap_or(0)
            .saturating_add(self.uncounted_cache_tokens());
        let output = output.unwrap_or(0);
        Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: total.unwrap_or(input.saturating_add(output)),
            cached_tokens: self.cached_tokens(),
            reasoning_tokens: self.reasoning_tokens(),
            cache_write_tokens: self.cache_creation_input_tokens.0.unwrap_or(0),
            audio_input_tokens: detail(&self.prompt_tokens_details, |d| d.audio_tokens)
                .or_else(|| detail(&self.input_tokens_details, |d| d.audio_tokens))
                .unwrap_or(0),
            audio_output_tokens: detail(&self.completion_tokens_details, |d| d.audio_tokens)
                .or_else(|| detail(&self.output_tokens_details, |d| d.audio_tokens))
                .unwrap_or(0),
        })
    }

    /// Anthropic's cache reads and writes, which its `input_tokens` leaves out.
    fn uncounted_cache_tokens(&self) -> u64 {
        if self.prompt_tokens.0.is_some() {
            return 0;
        }
        let read = self.cache_read_input_tokens.0.unwrap_or(0);
        read.saturating_add(self.cache_creation_input_tokens.0.unwrap_or(0))
    }

    fn cached_tokens(&self) -> u64 {
        [
            detail(&self.prompt_tokens_details, |d| d.cached_tokens),
            detail(&self.input_tokens_details, |d| d.cached_tokens),
            self.prompt_cache_hit_tokens.0,
            self.cache_read_input_tokens.0,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
    }

    fn reasoning_tokens(&self) -> u64 {
        detail(&self.completion_tokens_details, |d| d.reasoning_tokens)
            .or_else(|| detail(&self.output_tokens_details, |d| d.reasoning_tokens))
            .unwrap_or(0)
    }
}

fn detail(details: &Obj<TokenDetails>, field: fn(&TokenDetails) -> Count) -> Option<u64> {
    details.0.as_ref().and_then(|d| field(d).0)
}

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;

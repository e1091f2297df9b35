//! Token estimates for calls whose upstream reported no usage (docs/usage-records.md: `"usage_estimated":
//! true`), and a byte-length estimate for routing's context-fit check (docs/queries.md).
//!
//! Owns: choosing a tokenizer by model family, counting text tokens, and the prompt-token
//! estimate of a chat, completions or embeddings request body.
//!
//! Must never: load a tokenizer on the hot path ([`quick_prompt_estimate`] does not tokenize; the
//! tokenizers load once, lazily, on first count, or in the background through
//! [`preload_tokenizers`]), panic on odd JSON, or spend quadratic time on long unbroken text.
//!
//! Rules decided here:
//! - **Tokenizer by model.** The id is lowercased and stripped of a provider prefix (up to the
//!   last `/`) and of a fine-tune `ft:` prefix. `o200k_base` for ids starting `gpt-4o`, `gpt-4.1`,
//!   `gpt-4.5`, `gpt-5`, `chatgpt-4o`, `gpt-oss`, `codex-`, and for `o1`, `o3`, `o4` (alone or
//!   followed by `-`); `cl100k_base` for everything else. For models that are not OpenAI's this
//!   is an estimate: their own tokenizers differ, typically by 10-30%.
//! - **Long text.** Text is tokenized in segments of about [`SEGMENT_TARGET`] bytes cut before a
//!   space that follows a non-space ASCII character, where every tiktoken pattern breaks anyway,
//!   so prose counts exactly as the whole text would. A run of more than [`MAX_UNBROKEN_RUN`]
//!   bytes with no such space (base64, CJK without spaces, long whitespace) is cut at a character
//!   boundary: at most one token of difference per cut, and BPE's cost, quadratic in a piece's
//!   length, stays bounded.
//! - **Chat bodies** (`messages` present): OpenAI's count: 3 tokens per message + the tokens of
//!   its `role`, `content` and `name` (+1 when `name` is present) + 3 for the reply priming.
//!   `content` is a string or an array of parts: a part's `text` is counted; an image part
//!   (`image_url`, `image`, `input_image`) counts [`IMAGE_TOKENS`] ([`IMAGE_TOKENS_LOW_DETAIL`]
//!   with `"detail":"low"`), OpenAI's figure for a 1024x1024 image at high detail; audio and file
//!   parts count 0. An assistant's `tool_calls` count the tokens of each function's `name` and
//!   `arguments`. Tool definitions (`tools`, legacy `functions`) count the tokens of their compact
//!   JSON (OpenAI renders them differently; an estimate).
//! - **Completions** (`prompt`) and **embeddings** (`input`): a string counts its tokens, a
//!   number (a token id) counts 1, an array sums its items (strings, token ids, arrays of token
//!   ids); an object item is counted as a chat message. No per-message overhead otherwise.
//! - **A system prompt beside the messages** — Anthropic Messages' `system` (a string or text
//!   blocks), the Responses API's `instructions` — counts as a system message (3 + `system` +
//!   its text). Anthropic's `tool_use` blocks count their `name` and the compact JSON of their
//!   `input`, `tool_result` blocks their `content`; a Responses item's `arguments` (a function
//!   call) and `output` (its result) count their text. Tool definitions count as above whatever
//!   the body.
//! - A body with none of `messages`, `prompt`, `input`, `system` or `instructions` estimates 0.

use serde_json::Value;
use tiktoken_rs::CoreBPE;

/// Tokens counted for one image part (OpenAI: 85 + 4 x 170 for 1024x1024 at high detail).
pub const IMAGE_TOKENS: u64 = 765;
/// Tokens counted for an image part with `"detail":"low"`.
pub const IMAGE_TOKENS_LOW_DETAIL: u64 = 85;
/// Bytes per token assumed by [`quick_prompt_estimate`].
pub const QUICK_BYTES_PER_TOKEN: usize = 4;
/// Segments of about this many bytes are tokenized one at a time.
pub const SEGMENT_TARGET: usize = 2048;
/// Longest run of bytes without a safe cut before it is cut anyway.
pub const MAX_UNBROKEN_RUN: usize = 512;

const TOKENS_PER_MESSAGE: u64 = 3;
const TOKENS_PER_NAME: u64 = 1;
const REPLY_PRIMING_TOKENS: u64 = 3;

/// The tokenizer families this module counts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerFamily {
    O200kBase,
    Cl100kBase,
}

/// The tokenizer used for `model` (see the module rules).
pub fn tokenizer_family(model: &str) -> TokenizerFamily {
    let lower = model.trim().to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or_default();
    let name = name.strip_prefix("ft:").unwrap_or(name);
    const O200K_PREFIXES: [&str; 7] = [
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "chatgpt-4o",
        "gpt-oss",
        "codex-",
    ];
    let reasoning_series = ["o1", "o3", "o4"].iter().any(|series| {
        name.strip_prefix(series)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    if reasoning_series || O200K_PREFIXES.iter().any(|p| name.starts_with(p)) {
        TokenizerFamily::O200kBase
    } else {
        TokenizerFamily::Cl100kBase
    }
}

/// Loads both tokenizers now (slow: call from a background task at start, never per request).
pub fn preload_tokenizers() {
    tiktoken_rs::o200k_base_singleton();
    tiktoken_rs::cl100k_base_singleton();
}

/// Tokens of `text` with `model`'s tokenizer.
pub fn count_text_tokens(model: &str, text: &str) -> u64 {
    count_with(bpe(tokenizer_family(model)), text)
}

/// Prompt tokens of a chat, completions or embeddings request body (see the module rules).
pub fn estimate_prompt_tokens(model: &str, body: &Value) -> u64 {
    let bpe = bpe(tokenizer_family(model));
    // A system prompt beside the messages (Anthropic's `system`, the Responses API's
    // `instructions`) counts as the system message a chat body would carry.
    let system = ["system", "instructions"]
        .iter()
        .filter_map(|key| body.get(key))
        .map(|text| TOKENS_PER_MESSAGE + count_with(bpe, "system") + content_tokens(bpe, text))
        .sum::<u64>();
    let tools = ["tools", "functions"]
        .iter()
        .filter_map(|key| body.get(key))
        .map(|tools| json_tokens(bpe, tools))
        .sum::<u64>();
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        let messages = messages.iter().map(|m| message_tokens(bpe, m)).sum::<u64>();
        return system + messages + REPLY_PRIMING_TOKENS + tools;
    }
    match body.get("prompt").or_else(|| body.get("input")) {
        Some(prompt) => system + prompt_tokens(bpe, prompt) + tools,
        None => system + tools,
    }
}

/// A routing estimate of a body's prompt tokens from its length alone: `floor(len / 4)`. At or
/// below the real count for most text once JSON punctuation is counted in the length, so the
/// context-fit check skips a model only when the request clearly cannot fit it; an upstream's
/// context-length error still moves on to a larger model.
pub fn quick_prompt_estimate(body_len: usize) -> u64 {
    (body_len / QUICK_BYTES_PER_TOKEN) as u64
}

fn bpe(family: TokenizerFamily) -> &'static CoreBPE {
    match family {
        TokenizerFamily::O200kBase => tiktoken_rs::o200k_base_singleton(),
        TokenizerFamily::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

fn count_with(bpe: &CoreBPE, text: &str) -> u64 {
    Segments { text, at: 0 }
        .map(|segment| bpe.encode_ordinary(segment).len() as u64)
        .sum()
}

fn json_tokens(bpe: &CoreBPE, value: &Value) -> u64 {
    count_with(bpe, &serde_json::to_string(value).unwrap_or_default())
}

fn message_tokens(bpe: &CoreBPE, message: &Value) -> u64 {
    let Some(message) = message.as_object() else {
        return 0;
    };
    let text = |key: &str| message.get(key).and_then(Value::as_str);
    let mut tokens = TOKENS_PER_MESSAGE;
    tokens += text("role").map_or(0, |role| count_with(bpe, role));
    tokens += message.get("content").map_or(0, |c| content_tokens(bpe, c));
    if let Some(name) = text("name") {
        tokens += TOKENS_PER_NAME + count_with(bpe, name);
    }
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        tokens += calls
            .iter()
            .map(|call| tool_call_tokens(bpe, call))
            .sum::<u64>();
    }
    // A Responses input item that is a function call or its output.
    tokens += ["arguments", "output"]
        .iter()
        .filter_map(|key| text(key))
        .map(|t| count_with(bpe, t))
        .sum::<u64>();
    tokens
}

fn content_tokens(bpe: &CoreBPE, content: &Value) -> u64 {
    match content {
        Value::String(text) => count_with(bpe, text),
        Value::Array(parts) => parts.iter().map(|part| part_tokens(bpe, part)).sum(),
        _ => 0,
    }
}

fn part_tokens(bpe: &CoreBPE, part: &Value) -> u64 {
    match part {
        Value::String(text) => count_with(bpe, text),
        Value::Object(fields) => {
            let kind = fields
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if matches!(kind, "image_url" | "image" | "input_image") {
                return image_tokens(part);
            }
            // Anthropic's tool blocks: a call's name and input, a result's content.
            if kind == "tool_use" {
                let name = fields.get("name").and_then(Value::as_str).unwrap_or("");
                return count_with(bpe, name)
                    + fields.get("input").map_or(0, |i| json_tokens(bpe, i));
            }
            if kind == "tool_result" {
                return fields.get("content").map_or(0, |c| content_tokens(bpe, c));
            }
            let text = fields.get("text").and_then(Value::as_str);
            text.map_or(0, |text| count_with(bpe, text))
        }
        _ => 0,
    }
}

fn image_tokens(part: &Value) -> u64 {
    let detail = part
        .pointer("/image_url/detail")
        .or_else(|| part.get("detail"))
        .and_then(Value::as_str);
    if detail == Some("low") {
        IMAGE_TOKENS_LOW_DETAIL
    } else {
        IMAGE_TOKENS
    }
}

fn tool_call_tokens(bpe: &CoreBPE, call: &Value) -> u64 {
    ["/function/name", "/function/arguments"]
        .iter()
        .filter_map(|path| call.pointer(path).and_then(Value::as_str))
        .map(|text| count_with(bpe, text))
        .sum()
}

fn prompt_tokens(bpe: &CoreBPE, prompt: &Value) -> u64 {
    match prompt {
        Value::String(text) => count_with(bpe, text),
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(|item| prompt_item_tokens(bpe, item)).sum(),
        Value::Object(_) => message_tokens(bpe, prompt),
        _ => 0,
    }
}

fn prompt_item_tokens(bpe: &CoreBPE, item: &Value) -> u64 {
    match item {
        Value::String(text) => count_with(bpe, text),
        Value::Number(_) => 1,
        Value::Array(ids) => ids.iter().map(|id| u64::from(id.is_number())).sum(),
        Value::Object(_) => message_tokens(bpe, item),
        _ => 0,
    }
}

/// Pieces of a text tokenized one at a time (see the module rules on long text).
struct Segments<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.at;
        if start >= self.text.len() {
            return None;
        }
        let end = segment_end(self.text, start);
        self.at = end;
        // `end` is a char boundary past `start`; `get` keeps a slip from panicking.
        Some(self.text.get(start..end).unwrap_or_default())
    }
}

/// The end of the segment that starts at `start` (a char boundary past `start`).
fn segment_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut run_start = start;
    let mut at = start + 1;
    while at < bytes.len() {
        if is_safe_cut(bytes, at) {
            if at - start >= SEGMENT_TARGET {
                return at;
            }
            run_start = at;
        } else if at - run_start >= MAX_UNBROKEN_RUN {
            let cut = floor_char_boundary(text, at);
            if cut > start {
                return cut;
            }
        }
        at += 1;
    }
    bytes.len()
}

/// Before a space that follows a non-space ASCII character: no tiktoken piece spans this point.
fn is_safe_cut(bytes: &[u8], at: usize) -> bool {
    let before = at.checked_sub(1).and_then(|b| bytes.get(b));
    bytes.get(at) == Some(&b' ')
        && before.is_some_and(|&b| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' '))
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;

//! The stream tap: token usage, in-stream errors and generated text, read from upstream responses
//! as they pass through the relay (SPEC §7 streaming, §9 usage records).
//!
//! Owns: splitting an upstream SSE byte stream into whole events ([`SseEventSplitter`]), reading
//! usage from a non-streamed body ([`usage_from_body`]) or from one stream event's data
//! ([`inspect_chunk`]), and keeping the generated text for a token estimate when no usage
//! arrives ([`StreamText`]).
//!
//! Must never: change a byte the client sees (an event is handed back exactly as received; the
//! relay forwards or drops whole events), panic on upstream bytes, parse a plain content delta as
//! JSON (a substring pre-check comes first), or hold more than [`STREAM_TEXT_LIMIT`] bytes of
//! generated text per stream.
//!
//! Rules decided here (the SPEC is silent):
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
//! - **SSE framing.** An event is every line up to and including the first blank line; its raw
//!   bytes keep the original line ends. A lone blank line is an event too (no data, comment-only),
//!   so no byte is lost. A `\r` at the end of the buffered bytes holds the event until the next
//!   byte shows whether `\n` follows (or [`SseEventSplitter::finish`]). A UTF-8 BOM that opens the
//!   stream is kept in the raw bytes and skipped when reading fields. Only `data` is read; `event`,
//!   `id` and `retry` stay in the raw bytes. `data` without a colon is an empty data line. An
//!   incomplete event is buffered without limit: the relay bounds a stream's size and time
//!   ([`SseEventSplitter::buffered_len`]).
//! - **Stream text.** [`StreamText::text`] is the `content` of every choice's delta;
//!   [`StreamText::other_text`] is `reasoning_content` (or `reasoning` when a chunk has no
//!   `reasoning_content`) and tool-call `arguments`: both are output tokens. Strings are found by
//!   key anywhere in the chunk (`"content"` with a string value) and decoded without a JSON parse; raw control
//!   characters are accepted and lone surrogates read as U+FFFD. A chunk that carries a
//!   `"message"` object (a full message, not a delta), a `content` array (parts, or logprobs'
//!   `content`), or a string that does not decode is parsed instead, reading only
//!   `choices[*].delta` (array content: the parts' `text`); if that parse fails the chunk adds
//!   nothing (what the fast path cannot decode is not valid JSON either). Past
//!   [`STREAM_TEXT_LIMIT`] bytes of kept text, whole strings are counted in
//!   [`StreamText::untracked_bytes`] and not kept. Only the OpenAI chunk shape is read (not
//!   Anthropic `text_delta` nor Responses API events).

use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use memchr::memmem::Finder;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

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

static USAGE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));
static ERROR_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));
static MESSAGE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"message\""));
static CONTENT_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"content\""));
static REASONING_PREFIX: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"reasoning"));
static ARGUMENTS_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"arguments\""));

/// True when some occurrence of the quoted `key` is followed by `:` and a value whose first
/// byte is one of `value_starts`.
fn key_has_value(data: &[u8], key: &Finder<'_>, value_starts: &[u8]) -> bool {
    key.find_iter(data).any(|at| {
        value_start(data, at + key.needle().len())
            .and_then(|start| data.get(start))
            .is_some_and(|first| value_starts.contains(first))
    })
}

/// Where the value of a key that ends at `after_key` starts, if a `:` follows the key.
fn value_start(data: &[u8], after_key: usize) -> Option<usize> {
    let colon = skip_json_space(data, after_key);
    (data.get(colon) == Some(&b':')).then(|| skip_json_space(data, colon + 1))
}

fn skip_json_space(data: &[u8], mut at: usize) -> usize {
    while matches!(data.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

// ---------------------------------------------------------------------------------------------
// Lenient JSON views: every field accepts any JSON type; the wrong type reads as the default.

/// A value read without failing on an unexpected JSON type.
trait Lenient: Default {
    fn from_u64(_: u64) -> Self {
        Self::default()
    }
    fn from_f64(_: f64) -> Self {
        Self::default()
    }
    fn from_str(_: &str) -> Self {
        Self::default()
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for LenientVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from_u64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(u64::try_from(v).map_or_else(|_| T::default(), T::from_u64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::from_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::from_seq(seq)
    }
}

fn deserialize_lenient<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(LenientVisitor(PhantomData))
}

macro_rules! lenient_deserialize {
    ($($name:ident),*) => {$(
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_lenient(d)
            }
        }
    )*};
}

/// A token count: non-negative integers, truncated non-negative floats, numeric strings.
#[derive(Debug, Default, Clone, Copy)]
struct Count(Option<u64>);

impl Lenient for Count {
    fn from_u64(v: u64) -> Self {
        Count(Some(v))
    }
    fn from_f64(v: f64) -> Self {
        // `as` saturates at u64::MAX; NaN and negatives are refused first.
        Count((v.is_finite() && v >= 0.0).then_some(v as u64))
    }
    fn from_str(v: &str) -> Self {
        Count(v.trim().parse().ok())
    }
}

/// A string value; any other type reads as `None`.
#[derive(Debug, Default, Clone)]
struct Text(Option<String>);

impl Lenient for Text {
    fn from_str(v: &str) -> Self {
        Text(Some(v.to_owned()))
    }
}

/// True only for an empty array.
#[derive(Debug, Default, Clone, Copy)]
struct IsEmptyArray(bool);

impl Lenient for IsEmptyArray {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_none() {
            return Ok(IsEmptyArray(true));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IsEmptyArray(false))
    }
}

/// The message of an `error` field (see the module rules).
#[derive(Debug, Default, Clone)]
struct ErrorField(Option<String>);

impl Lenient for ErrorField {
    fn from_str(v: &str) -> Self {
        ErrorField(Some(v.to_owned()))
    }
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let body = ErrorBody::deserialize(MapAccessDeserializer::new(map))?;
        let message = (body.message.0.or(body.r#type.0).or(body.code.0))
            .unwrap_or_else(|| "upstream error without a message".to_owned());
        Ok(ErrorField(Some(message)))
    }
}

lenient_deserialize!(Count, Text, ContentText, IsEmptyArray, ErrorField);

/// An object read as `T`; any other type reads as `None`.
#[derive(Debug, Clone)]
struct Obj<T>(Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T: DeserializeOwned> Lenient for Obj<T> {
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|value| Obj(Some(value)))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_lenient(d)
    }
}

/// The objects of an array read as `T`; other items and other types are skipped.
#[derive(Debug, Clone)]
struct List<T>(Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T: DeserializeOwned> Lenient for List<T> {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::new();
        while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
            items.extend(item);
        }
        Ok(List(items))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_lenient(d)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    message: Text,
    r#type: Text,
    code: Text,
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

// ---------------------------------------------------------------------------------------------
// SSE framing

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One SSE event: its raw bytes exactly as received (blank-line terminator included) and its
/// data payload (`data:` lines joined with `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    raw: Bytes,
    data: DataField,
    has_fields: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DataField {
    Absent,
    /// One `data:` line: its value's range in `raw` (no copy).
    Line {
        start: usize,
        end: usize,
    },
    /// Several `data:` lines, joined.
    Joined(Vec<u8>),
}

impl SseEvent {
    /// The bytes to forward to the client, unchanged.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// The data payload; `None` when the event has no `data` field.
    pub fn data(&self) -> Option<&[u8]> {
        match &self.data {
            DataField::Absent => None,
            DataField::Line { start, end } => self.raw.get(*start..*end),
            DataField::Joined(joined) => Some(joined),
        }
    }

    /// The stream's end marker: data is `[DONE]` (surrounding ASCII space ignored).
    pub fn is_done(&self) -> bool {
        self.data().is_some_and(|d| d.trim_ascii() == b"[DONE]")
    }

    /// True when the event has no field at all: only comment lines (`: keep-alive`) or nothing
    /// but its blank line.
    pub fn is_comment_only(&self) -> bool {
        !self.has_fields
    }

    fn parse(raw: Bytes, opens_stream: bool) -> Self {
        let fields_start = if opens_stream && raw.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let mut data = DataField::Absent;
        let mut has_fields = false;
        for (start, end) in LineRanges::new(&raw, fields_start) {
            let line = raw.get(start..end).unwrap_or_default();
            if line.is_empty() || line.starts_with(b":") {
                continue;
            }
            has_fields = true;
            let (name, value_start) = match memchr::memchr(b':', line) {
                Some(colon) => {
                    let skip_space = usize::from(line.get(colon + 1) == Some(&b' '));
                    (
                        line.get(..colon).unwrap_or_default(),
                        start + colon + 1 + skip_space,
                    )
                }
                None => (line, end),
            };
            if name == b"data" {
                data.append(&raw, value_start, end);
            }
        }
        SseEvent {
            raw,
            data,
            has_fields,
        }
    }
}

impl DataField {
    fn append(&mut self, raw: &[u8], start: usize, end: usize) {
        let value = raw.get(start..end).unwrap_or_default();
        *self = match std::mem::replace(self, DataField::Absent) {
            DataField::Absent => DataField::Line { start, end },
            DataField::Line { start: s, end: e } => {
                let first = raw.get(s..e).unwrap_or_default();
                let mut joined = Vec::with_capacity(first.len() + 1 + value.len());
                joined.extend_from_slice(first);
                joined.push(b'\n');
                joined.extend_from_slice(value);
                DataField::Joined(joined)
            }
            DataField::Joined(mut joined) => {
                joined.push(b'\n');
                joined.extend_from_slice(value);
                DataField::Joined(joined)
            }
        };
    }
}

/// Line ranges (terminators excluded) of a complete buffer; `\r\n`, `\n` and `\r` end a line.
struct LineRanges<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> LineRanges<'a> {
    fn new(buf: &'a [u8], at: usize) -> Self {
        LineRanges { buf, at }
    }
}

impl Iterator for LineRanges<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        let rest = self.buf.get(start..).filter(|rest| !rest.is_empty())?;
        let Some(rel) = memchr::memchr2(b'\n', b'\r', rest) else {
            self.at = self.buf.len();
            return Some((start, self.buf.len()));
        };
        let end = start + rel;
        let crlf = self.buf.get(end..end + 2) == Some(b"\r\n");
        self.at = end + if crlf { 2 } else { 1 };
        Some((start, end))
    }
}

/// Splits an upstream SSE byte stream into complete events, whatever the read boundaries.
#[derive(Debug, Default)]
pub struct SseEventSplitter {
    pending: Pending,
    /// Start of the current, not yet ended, line in `pending`.
    line_start: usize,
    /// Where to look for the next line end (everything before it has been scanned).
    scan_from: usize,
    emitted_any: bool,
}

/// Bytes not yet handed out: a shared read while reads align with events (no copy), a growing
/// buffer once an event spans reads.
#[derive(Debug)]
enum Pending {
    Shared(Bytes),
    Growing(BytesMut),
}

impl Default for Pending {
    fn default() -> Self {
        Pending::Shared(Bytes::new())
    }
}

impl Pending {
    fn as_slice(&self) -> &[u8] {
        match self {
            Pending::Shared(bytes) => bytes,
            Pending::Growing(buf) => buf,
        }
    }

    fn push(&mut self, bytes: Bytes) {
        if self.as_slice().is_empty() {
            *self = Pending::Shared(bytes);
        } else {
            self.push_slice(&bytes);
        }
    }

    fn push_slice(&mut self, bytes: &[u8]) {
        match self {
            Pending::Growing(buf) => buf.extend_from_slice(bytes),
            Pending::Shared(shared) => {
                let mut buf = BytesMut::with_capacity(shared.len() + bytes.len());
                buf.extend_from_slice(shared);
                buf.extend_from_slice(bytes);
                *self = Pending::Growing(buf);
            }
        }
    }

    fn split_to(&mut self, at: usize) -> Bytes {
        let at = at.min(self.as_slice().len());
        match self {
            Pending::Shared(bytes) => bytes.split_to(at),
            Pending::Growing(buf) => buf.split_to(at).freeze(),
        }
    }
}

impl SseEventSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next read from upstream; kept without a copy while reads end on event ends.
    pub fn push(&mut self, bytes: Bytes) {
        self.pending.push(bytes);
    }

    /// Feed the next read from upstream (copied).
    pub fn push_slice(&mut self, bytes: &[u8]) {
        self.pending.push_slice(bytes);
    }

    /// The next complete event, if one is buffered.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        let end = self.find_event_end()?;
        let raw = self.pending.split_to(end);
        self.line_start = 0;
        self.scan_from = 0;
        Some(self.event(raw))
    }

    /// At end of stream: the next complete event if one is left, else whatever partial event is
    /// left (an upstream that closes without a final blank line). Call until `None`.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if let Some(event) = self.next_event() {
            return Some(event);
        }
        let left = self.pending.split_to(usize::MAX);
        self.line_start = 0;
        self.scan_from = 0;
        (!left.is_empty()).then(|| self.event(left))
    }

    /// Bytes buffered for the incomplete event.
    pub fn buffered_len(&self) -> usize {
        self.pending.as_slice().len()
    }

    fn event(&mut self, raw: Bytes) -> SseEvent {
        let opens_stream = !self.emitted_any;
        self.emitted_any = true;
        SseEvent::parse(raw, opens_stream)
    }

    /// The end (after the blank line) of the first complete event in `pending`, scanning only
    /// bytes not scanned before.
    fn find_event_end(&mut self) -> Option<usize> {
        let buf = self.pending.as_slice();
        loop {
            let rest = buf.get(self.scan_from..)?;
            let Some(rel) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.scan_from = buf.len();
                return None;
            };
            let at = self.scan_from + rel;
            let line_end = match (buf.get(at), buf.get(at + 1)) {
                (Some(b'\r'), Some(b'\n')) => at + 2,
                (Some(b'\r'), None) => {
                    self.scan_from = at;
                    return None;
                }
                _ => at + 1,
            };
            let blank = at == self.line_start;
            self.line_start = line_end;
            self.scan_from = line_end;
            if blank {
                return Some(line_end);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generated text, for an estimate when no usage arrives

/// Most bytes of generated text a [`StreamText`] keeps (text and other text together).
pub const STREAM_TEXT_LIMIT: usize = 4 * 1024 * 1024;

/// The text a stream generated, gathered chunk by chunk (see the module rules).
#[derive(Debug, Default, Clone)]
pub struct StreamText {
    text: String,
    other: String,
    untracked_bytes: u64,
}

#[derive(Clone, Copy)]
enum Target {
    Text,
    Other,
}

/// A chunk the fast path leaves to the parse: a string it cannot decode, or array content.
#[derive(Debug)]
struct NeedsParse;

impl StreamText {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one event's data payload.
    pub fn add_chunk(&mut self, data: &[u8]) {
        if key_has_value(data, &MESSAGE_KEY, b"{") {
            self.add_parsed(data);
            return;
        }
        let mark = (self.text.len(), self.other.len(), self.untracked_bytes);
        if self.add_scanned(data).is_err() {
            self.text.truncate(mark.0);
            self.other.truncate(mark.1);
            self.untracked_bytes = mark.2;
            self.add_parsed(data);
        }
    }

    /// The `content` of the deltas, in stream order.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Reasoning and tool-call arguments: output that is not `content`.
    pub fn other_text(&self) -> &str {
        &self.other
    }

    /// Bytes of generated text seen after [`STREAM_TEXT_LIMIT`] was reached, not kept.
    pub fn untracked_bytes(&self) -> u64 {
        self.untracked_bytes
    }

    fn add_scanned(&mut self, data: &[u8]) -> Result<(), NeedsParse> {
        for at in CONTENT_KEY.find_iter(data) {
            self.add_string_value(data, at + CONTENT_KEY.needle().len(), Target::Text)?;
        }
        self.add_scanned_reasoning(data)?;
        for at in ARGUMENTS_KEY.find_iter(data) {
            self.add_string_value(data, at + ARGUMENTS_KEY.needle().len(), Target::Other)?;
        }
        Ok(())
    }

    /// `"reasoning_content"` strings, or `"reasoning"` strings when there are none.
    fn add_scanned_reasoning(&mut self, data: &[u8]) -> Result<(), NeedsParse> {
        let prefix_len = REASONING_PREFIX.needle().len();
        let suffix_at = |at: usize, suffix: &[u8]| {
            let after = at + prefix_len;
            let found = data
                .get(after..)
                .is_some_and(|rest| rest.starts_with(suffix));
            found.then_some(after + suffix.len())
        };
        let (mut found_content, mut has_plain) = (false, false);
        for at in REASONING_PREFIX.find_iter(data) {
            if let Some(after_key) = suffix_at(at, b"_content\"") {
                found_content |= self.add_string_value(data, after_key, Target::Other)?;
            }
            has_plain |= suffix_at(at, b"\"").is_some();
        }
        if has_plain && !found_content {
            for at in REASONING_PREFIX.find_iter(data) {
                if let Some(after_key) = suffix_at(at, b"\"") {
                    self.add_string_value(data, after_key, Target::Other)?;
                }
            }
        }
        Ok(())
    }

    /// Decodes the value of the key ending at `after_key` when it is a string; `Ok(false)` when
    /// it is not a string (`null`, an array, or the key is a value, not a key).
    fn add_string_value(
        &mut self,
        data: &[u8],
        after_key: usize,
        target: Target,
    ) -> Result<bool, NeedsParse> {
        let Some(start) = value_start(data, after_key) else {
            return Ok(false);
        };
        match (data.get(start), target) {
            (Some(b'"'), _) => {}
            // `content` as an array of parts: the parse reads the parts' `text`.
            (Some(b'['), Target::Text) => return Err(NeedsParse),
            _ => return Ok(false),
        }
        let before = self.buffer(target).len();
        decode_json_string(data, start + 1, self.buffer(target))?;
        self.enforce_limit(target, before);
        Ok(true)
    }

    fn add_parsed(&mut self, data: &[u8]) {
        let Ok(chunk) = serde_json::from_slice::<TextChunkView>(data) else {
            return;
        };
        for delta in chunk.choices.0.iter().filter_map(|c| c.delta.0.as_ref()) {
            self.push_limited(Target::Text, delta.content.0.as_deref());
            let reasoning = delta.reasoning_content.0.as_deref();
            self.push_limited(Target::Other, reasoning.or(delta.reasoning.0.as_deref()));
            for call in &delta.tool_calls.0 {
                let function = call.function.0.as_ref();
                self.push_limited(
                    Target::Other,
                    function.and_then(|f| f.arguments.0.as_deref()),
                );
            }
        }
    }

    fn push_limited(&mut self, target: Target, text: Option<&str>) {
        let Some(text) = text else { return };
        let before = self.buffer(target).len();
        self.buffer(target).push_str(text);
        self.enforce_limit(target, before);
    }

    /// Takes back what was added since `before` when the limit is passed, counting its bytes.
    fn enforce_limit(&mut self, target: Target, before: usize) {
        if self.text.len() + self.other.len() <= STREAM_TEXT_LIMIT {
            return;
        }
        let buffer = self.buffer(target);
        let added = buffer.len().saturating_sub(before);
        buffer.truncate(before);
        self.untracked_bytes = self.untracked_bytes.saturating_add(added as u64);
    }

    fn buffer(&mut self, target: Target) -> &mut String {
        match target {
            Target::Text => &mut self.text,
            Target::Other => &mut self.other,
        }
    }
}

/// Decodes the JSON string whose first byte (after the opening quote) is at `at` into `out`;
/// returns the index after the closing quote.
fn decode_json_string(data: &[u8], mut at: usize, out: &mut String) -> Result<usize, NeedsParse> {
    loop {
        let rest = data.get(at..).ok_or(NeedsParse)?;
        let stop = memchr::memchr2(b'"', b'\\', rest).ok_or(NeedsParse)?;
        let run = rest.get(..stop).ok_or(NeedsParse)?;
        out.push_str(std::str::from_utf8(run).map_err(|_| NeedsParse)?);
        at += stop;
        if data.get(at) == Some(&b'"') {
            return Ok(at + 1);
        }
        at = decode_escape(data, at + 1, out)?;
    }
}

/// Decodes the escape whose letter is at `at`; returns the index after it.
fn decode_escape(data: &[u8], at: usize, out: &mut String) -> Result<usize, NeedsParse> {
    let decoded = match data.get(at).ok_or(NeedsParse)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return decode_unicode_escape(data, at + 1, out),
        _ => return Err(NeedsParse),
    };
    out.push(decoded);
    Ok(at + 1)
}

/// Decodes `XXXX` (after `\u`) at `at`, joining a surrogate pair; a lone surrogate is U+FFFD.
fn decode_unicode_escape(data: &[u8], at: usize, out: &mut String) -> Result<usize, NeedsParse> {
    let unit = hex4(data, at)?;
    let after = at + 4;
    if (0xD800..0xDC00).contains(&unit) && data.get(after..after + 2) == Some(b"\\u") {
        if let Ok(low @ 0xDC00..=0xDFFF) = hex4(data, after + 2) {
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return Ok(after + 6);
        }
    }
    out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
    Ok(after)
}

fn hex4(data: &[u8], at: usize) -> Result<u32, NeedsParse> {
    let digits = data.get(at..at + 4).ok_or(NeedsParse)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        let digit = char::from(b).to_digit(16).ok_or(NeedsParse)?;
        Ok(acc * 16 + digit)
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextChunkView {
    choices: List<ChoiceText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChoiceText {
    delta: Obj<DeltaText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeltaText {
    content: ContentText,
    reasoning_content: Text,
    reasoning: Text,
    tool_calls: List<ToolCallText>,
}

/// `content` as a string, or as an array of parts whose `text` strings are joined.
#[derive(Debug, Default, Clone)]
struct ContentText(Option<String>);

impl Lenient for ContentText {
    fn from_str(v: &str) -> Self {
        ContentText(Some(v.to_owned()))
    }
    fn from_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        let List(parts) = List::<TextPart>::from_seq(seq)?;
        let texts = parts.into_iter().filter_map(|part| part.text.0);
        Ok(ContentText(Some(texts.collect())))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextPart {
    text: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ToolCallText {
    function: Obj<FunctionText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FunctionText {
    arguments: Text,
}

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;

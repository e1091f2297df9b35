//! The text a stream generated, gathered chunk by chunk as events pass the relay, for a token
//! estimate when no usage arrives. Never holds more than [`STREAM_TEXT_LIMIT`] bytes.
//!
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

use serde::de::SeqAccess;
use serde::Deserialize;

use super::lenient_json::*;

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

lenient_deserialize!(ContentText);

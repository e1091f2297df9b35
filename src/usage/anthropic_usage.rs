//! Token usage of Anthropic Messages answers: a whole `message` body, or a stream read event by
//! event ([`AnthropicStreamUsage`]).
//!
//! Owns: turning Anthropic's usage object into the gateway's [`Usage`]. Anthropic's
//! `input_tokens` leaves the prompt cache out, so input = `input_tokens` +
//! `cache_creation_input_tokens` + `cache_read_input_tokens`; cache reads are `cached_tokens`,
//! cache writes `cache_write_tokens`; total = input + output.
//!
//! A stream carries usage twice: `message_start` (under `message.usage`: the input side and a
//! first output count) and `message_delta` (top-level `usage`: the final cumulative output, and
//! with newer API versions the input side again). A later figure replaces an earlier one, field
//! by field, so either event alone gives a usage and both give the final one.
//!
//! Never: panics on upstream bytes, or parses an event without a `"usage"` key (text deltas
//! cost one substring scan).

use serde::Deserialize;

use super::tap::Usage;

/// Anthropic's `usage` object; every field optional.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AnthropicUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Later figures replace earlier ones, field by field.
    pub fn update(&mut self, later: AnthropicUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// The gateway's usage; `None` when no count was reported at all.
    pub fn to_usage(self) -> Option<Usage> {
        if self == AnthropicUsage::default() {
            return None;
        }
        let reads = self.cache_read_input_tokens.unwrap_or(0);
        let writes = self.cache_creation_input_tokens.unwrap_or(0);
        let input = (self.input_tokens.unwrap_or(0))
            .saturating_add(reads)
            .saturating_add(writes);
        let output = self.output_tokens.unwrap_or(0);
        Some(Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input.saturating_add(output),
            cached_tokens: reads,
            cache_write_tokens: writes,
            ..Usage::default()
        })
    }
}

#[derive(Deserialize)]
struct MessageView {
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct EventView {
    #[serde(default)]
    usage: Option<AnthropicUsage>,
    #[serde(default)]
    message: Option<MessageView>,
}

/// Usage of a non-streamed Messages answer (`{"type":"message",...,"usage":{...}}`).
pub fn usage_from_message(body: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<MessageView>(body)
        .ok()?
        .usage?
        .to_usage()
}

/// Usage gathered from an Anthropic stream, one event's data at a time.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnthropicStreamUsage {
    seen: AnthropicUsage,
}

impl AnthropicStreamUsage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read one event's data payload (`message_start`, `message_delta`; others add nothing).
    pub fn observe(&mut self, data: &[u8]) {
        if memchr::memmem::find(data, b"\"usage\"").is_none() {
            return;
        }
        let Ok(event) = serde_json::from_slice::<EventView>(data) else {
            return;
        };
        if let Some(usage) = event.message.and_then(|m| m.usage) {
            self.seen.update(usage);
        }
        if let Some(usage) = event.usage {
            self.seen.update(usage);
        }
    }

    /// The usage so far; `None` before any usage arrived.
    pub fn usage(&self) -> Option<Usage> {
        self.seen.to_usage()
    }

    /// The raw Anthropic counts so far (for translating them to another format).
    pub fn counts(&self) -> AnthropicUsage {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":3337,"cache_read_input_tokens":6289,"output_tokens":1}}}"#;
    const DELTA: &str = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":198}}"#;

    #[test]
    fn message_start_and_delta_give_the_final_usage() {
        let mut stream = AnthropicStreamUsage::new();
        assert_eq!(stream.usage(), None);
        stream.observe(START.as_bytes());
        stream.observe(br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"usage"}}"#);
        stream.observe(DELTA.as_bytes());
        assert_eq!(
            stream.usage(),
            Some(Usage {
                input_tokens: 12 + 3337 + 6289,
                output_tokens: 198,
                total_tokens: 12 + 3337 + 6289 + 198,
                cached_tokens: 6289,
                cache_write_tokens: 3337,
                ..Usage::default()
            })
        );
    }

    #[test]
    fn a_delta_with_the_input_side_replaces_the_start() {
        let mut stream = AnthropicStreamUsage::new();
        stream.observe(START.as_bytes());
        stream.observe(br#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":20,"cache_read_input_tokens":0,"output_tokens":7}}"#);
        let usage = stream.usage().expect("usage");
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_tokens,
                usage.cache_write_tokens
            ),
            (20 + 3337, 0, 3337)
        );
        assert_eq!(usage.output_tokens, 7);
    }

    #[test]
    fn a_whole_message_body() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":25,"output_tokens":10,"cache_creation_input_tokens":100,"cache_read_input_tokens":50}}"#;
        let usage = usage_from_message(body).expect("usage");
        assert_eq!(usage.input_tokens, 175);
        assert_eq!(usage.cached_tokens, 50);
        assert_eq!(usage.cache_write_tokens, 100);
        assert_eq!(usage.total_tokens, 185);
        assert_eq!(usage_from_message(b"not json"), None);
        assert_eq!(usage_from_message(br#"{"usage":{}}"#), None);
        assert_eq!(
            usage_from_message(br#"{"usage":{"input_tokens":-1}}"#),
            None
        );
    }
}

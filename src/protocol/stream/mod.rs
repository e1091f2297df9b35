//! Streaming translators: incremental state machines fed one upstream SSE event's data at a
//! time, each writing the client's SSE bytes for it at once (nothing is held back beyond the
//! event being translated, so a translated stream's first byte follows the upstream's).
//!
//! Each takes `push(data, out)` for every upstream event (chat: the chunk JSON or `[DONE]`;
//! Anthropic: the event JSON) and `finish(out)` when the upstream stream completed. `finish`
//! is idempotent; after an upstream error event nothing more is written.

pub mod chat_to_messages;
pub mod chat_to_responses;
pub mod messages_to_chat;

pub use chat_to_messages::ChatToMessages;
pub use chat_to_responses::ChatToResponses;
pub use messages_to_chat::MessagesToChat;

use serde::Deserialize;
use serde_json::Value;

/// A chunk that carries `{"error": ...}`: its message and type.
pub(crate) fn chunk_error(data: &[u8]) -> Option<(String, Option<String>)> {
    memchr::memmem::find(data, b"\"error\"")?;
    #[derive(Deserialize)]
    struct Probe {
        error: Option<Value>,
    }
    let error = serde_json::from_slice::<Probe>(data).ok()?.error?;
    let message = match &error {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("upstream error without a message")
            .to_owned(),
    };
    let kind = error.get("type").and_then(Value::as_str).map(str::to_owned);
    Some((message, kind))
}

/// True for the chat stream's `[DONE]` marker.
pub(crate) fn is_done(data: &[u8]) -> bool {
    data.trim_ascii() == b"[DONE]"
}

#[cfg(test)]
mod tests;

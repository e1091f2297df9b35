//! The client APIs the gateway speaks and the translations between them.
//!
//! Owns: typed models of the Anthropic Messages API ([`anthropic`]) and the OpenAI Responses
//! API ([`responses`]) beside the chat completions shape ([`chat`]), pure translations between
//! them (requests, answers, errors) and streaming translators that turn one upstream SSE event
//! into the client's events at once ([`stream`]).
//!
//! Never: does I/O, panics on a client or upstream body, or drops a field it does not know
//! silently when the target format has a place for it: unknown fields of a request are kept
//! in `extra` maps so a passthrough or a re-serialisation loses nothing. What a format cannot
//! carry is listed in docs/protocols.md.

pub mod anthropic;
pub mod chat;
pub mod count_tokens;
pub mod errors;
pub mod from_chat;
pub mod responses;
pub mod responses_translate;
pub mod stream;
pub mod to_chat;

/// The API a client spoke (the usage record's `request_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestFormat {
    OpenaiChat,
    OpenaiCompletion,
    OpenaiEmbedding,
    AnthropicMessages,
    OpenaiResponses,
}

impl RequestFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestFormat::OpenaiChat => "openai_chat",
            RequestFormat::OpenaiCompletion => "openai_completion",
            RequestFormat::OpenaiEmbedding => "openai_embedding",
            RequestFormat::AnthropicMessages => "anthropic_messages",
            RequestFormat::OpenaiResponses => "openai_responses",
        }
    }
}

/// Why a request cannot be carried to another format: the text is the client's 400 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError(pub String);

impl std::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TranslateError {}

/// Seconds since the Unix epoch, for `created` fields.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

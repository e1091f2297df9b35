//! Where a request format meets a channel format: for one attempt, the upstream endpoint and
//! body, and how the upstream's answer becomes the client's.
//!
//! The client spoke OpenAI chat, completions or embeddings, Anthropic Messages or OpenAI
//! Responses ([`RouteKind`]); the channel speaks OpenAI or Anthropic (`format: anthropic`).
//! When they match, the attempt is a passthrough: the client's bytes with only `model`
//! replaced (and, for OpenAI streams, `stream_options.include_usage` asked for). Otherwise the
//! request is translated (`protocol`) once per attempt and the answer translated back — a
//! whole body here, a stream event by event by a [`StreamAdapter`] inside the relay.
//! Completions and embeddings have no Anthropic form: those candidates are skipped.
//!
//! Error bodies follow the client: a Messages client gets Anthropic's error shape (relayed
//! upstream errors, the gateway's own, and in-stream errors), every other client OpenAI's.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::call::CallContext;
use super::RouteKind;
use crate::catalog::CatalogEntry;
use crate::config::WireFormat;
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse};
use crate::protocol::chat::{ChatRequest, ChatResponse};
use crate::protocol::errors::{
    anthropic_error_body, anthropic_stream_error, responses_stream_error,
};
use crate::protocol::from_chat::{chat_request_to_messages, messages_response_to_chat};
use crate::protocol::responses::ResponsesRequest;
use crate::protocol::responses_translate::{
    chat_response_to_responses, check_stateless, responses_request_to_chat,
};
use crate::protocol::stream::{ChatToMessages, ChatToResponses, MessagesToChat};
use crate::protocol::to_chat::{chat_response_to_messages, messages_request_to_chat};
use crate::upstream::client::Endpoint;

/// How the upstream's answer becomes the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Same format: the answer as the upstream sent it.
    Passthrough,
    /// A Messages client served by a chat channel.
    ChatAsMessages,
    /// A chat client served by a Messages channel.
    MessagesAsChat,
    /// A Responses client served by a chat channel.
    ChatAsResponses,
    /// A Responses client served by a Messages channel (through chat).
    MessagesAsResponses,
}

/// The kind of events an upstream stream sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamEvents {
    /// Chat (or completions) chunks ending with `[DONE]`.
    OpenaiChat,
    /// Anthropic's typed events ending with `message_stop`.
    Anthropic,
    /// Responses events ending with `response.completed` (or incomplete, failed).
    Responses,
}

/// One attempt's request to its channel.
pub struct UpstreamCall {
    pub endpoint: Endpoint,
    pub body: Bytes,
    /// The gateway asked for `stream_options.include_usage` on the client's behalf: the usage-only
    /// chunk is not the client's.
    pub ask_usage: bool,
    pub conversion: Conversion,
    pub events: UpstreamEvents,
}

/// Why a candidate cannot take this request.
pub enum PrepareError {
    /// The request is not valid in its own format: the client's 400, whatever the candidate.
    Invalid(String),
    /// This candidate's format cannot carry the request: try the next one.
    Unsupported(String),
}

/// A Responses request the gateway refuses before routing (stored conversations).
pub fn check_request(route: RouteKind, body: &[u8]) -> Result<(), String> {
    if route != RouteKind::Responses {
        return Ok(());
    }
    let request: ResponsesRequest = parse(body)?;
    check_stateless(&request).map_err(|e| e.0)
}

/// The request for one attempt on `entry`.
pub fn prepare(call: &CallContext, entry: &CatalogEntry) -> Result<UpstreamCall, PrepareError> {
    let provider = &entry.channel.provider;
    let anthropic = provider.format == WireFormat::Anthropic;
    let request = &call.request;
    let model = entry.model_id.as_str();
    let stream = request.stream;
    let openai_ask_usage = stream && !request.include_usage_asked;
    let upstream = |endpoint, body: Bytes, ask_usage, conversion| UpstreamCall {
        endpoint,
        body,
        ask_usage,
        conversion,
        events: match endpoint {
            Endpoint::Messages => UpstreamEvents::Anthropic,
            Endpoint::Responses => UpstreamEvents::Responses,
            _ => UpstreamEvents::OpenaiChat,
        },
    };
    let invalid = |e: String| PrepareError::Invalid(e);
    let unsupported = |e: crate::protocol::TranslateError| PrepareError::Unsupported(e.0);
    Ok(match (call.route, anthropic) {
        (RouteKind::Chat | RouteKind::Completion | RouteKind::Embedding, false) => upstream(
            call.route.endpoint(),
            request.upstream_body(model, openai_ask_usage),
            openai_ask_usage,
            Conversion::Passthrough,
        ),
        (RouteKind::Messages, true) => upstream(
            Endpoint::Messages,
            request.upstream_body(model, false),
            false,
            Conversion::Passthrough,
        ),
        (RouteKind::Chat, true) => {
            let chat: ChatRequest = parse(&request.body).map_err(invalid)?;
            let mut messages = chat_request_to_messages(&chat).map_err(unsupported)?;
            messages.model = model.to_owned();
            upstream(
                Endpoint::Messages,
                to_bytes(&messages),
                false,
                Conversion::MessagesAsChat,
            )
        }
        (RouteKind::Messages, false) => {
            let messages: MessagesRequest = parse(&request.body).map_err(invalid)?;
            let mut chat = messages_request_to_chat(&messages).map_err(unsupported)?;
            chat.model = model.to_owned();
            upstream(
                Endpoint::Chat,
                to_bytes(&chat),
                stream,
                Conversion::ChatAsMessages,
            )
        }
        (RouteKind::Responses, false) if provider.responses => upstream(
            Endpoint::Responses,
            request.upstream_body(model, false),
            false,
            Conversion::Passthrough,
        ),
        (RouteKind::Responses, _) => {
            let responses: ResponsesRequest = parse(&request.body).map_err(invalid)?;
            let mut chat = responses_request_to_chat(&responses).map_err(unsupported)?;
            chat.model = model.to_owned();
            if anthropic {
                let messages = chat_request_to_messages(&chat).map_err(unsupported)?;
                let body = to_bytes(&messages);
                upstream(
                    Endpoint::Messages,
                    body,
                    false,
                    Conversion::MessagesAsResponses,
                )
            } else {
                upstream(
                    Endpoint::Chat,
                    to_bytes(&chat),
                    stream,
                    Conversion::ChatAsResponses,
                )
            }
        }
        (RouteKind::Completion | RouteKind::Embedding, true) => {
            return Err(PrepareError::Unsupported(format!(
                "{} has no Anthropic form",
                call.route.endpoint().path()
            )))
        }
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("The request body does not fit the API: {e}."))
}

fn to_bytes<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// A whole 2xx answer in the client's format; `Err` when the upstream's body is not an answer
/// of its format (the attempt then fails over).
pub fn convert_body(
    conversion: Conversion,
    call: &CallContext,
    body: Bytes,
) -> Result<Bytes, String> {
    let unreadable = |e: serde_json::Error| format!("the answer could not be read: {e}");
    Ok(match conversion {
        Conversion::Passthrough => body,
        Conversion::ChatAsMessages => {
            let chat: ChatResponse = serde_json::from_slice(&body).map_err(unreadable)?;
            to_bytes(&chat_response_to_messages(&chat))
        }
        Conversion::MessagesAsChat => {
            let message: MessagesResponse = serde_json::from_slice(&body).map_err(unreadable)?;
            to_bytes(&messages_response_to_chat(&message))
        }
        Conversion::ChatAsResponses | Conversion::MessagesAsResponses => {
            let chat: ChatResponse = if conversion == Conversion::ChatAsResponses {
                serde_json::from_slice(&body).map_err(unreadable)?
            } else {
                let message: MessagesResponse =
                    serde_json::from_slice(&body).map_err(unreadable)?;
                messages_response_to_chat(&message)
            };
            let request: ResponsesRequest = parse(&call.request.body)?;
            to_bytes(&chat_response_to_responses(&request, &chat))
        }
    })
}

/// An upstream error body relayed to the client, in the client's error shape; `true` when it
/// was rewritten.
pub fn convert_error_body(
    route: RouteKind,
    status: u16,
    message: &str,
    body: Bytes,
) -> (Bytes, bool) {
    let anthropic_shaped = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .is_some_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("error"));
    let messages = route == RouteKind::Messages;
    if messages == anthropic_shaped {
        return (body, false);
    }
    let rewritten = if messages {
        anthropic_error_body(status, message)
    } else {
        json!({"error": {
            "message": message,
            "type": crate::protocol::errors::anthropic_error_type(status),
            "code": null,
            "param": null,
        }})
    };
    (to_bytes(&rewritten), true)
}

/// Turns the upstream's stream into the client's, event by event (see `protocol::stream`).
pub enum StreamAdapter {
    ChatAsMessages(ChatToMessages),
    MessagesAsChat(MessagesToChat),
    ChatAsResponses(Box<ChatToResponses>),
    MessagesAsResponses(Box<(MessagesToChat, ChatToResponses)>),
}

impl StreamAdapter {
    /// The adapter for `conversion`; `None` for a passthrough.
    pub fn new(
        conversion: Conversion,
        call: &CallContext,
        model: &str,
    ) -> Option<Box<StreamAdapter>> {
        let responses = || {
            parse::<ResponsesRequest>(&call.request.body)
                .map(|r| ChatToResponses::new(&r))
                .ok()
        };
        let adapter = match conversion {
            Conversion::Passthrough => None,
            Conversion::ChatAsMessages => {
                Some(StreamAdapter::ChatAsMessages(ChatToMessages::new(model)))
            }
            Conversion::MessagesAsChat => Some(StreamAdapter::MessagesAsChat(MessagesToChat::new(
                model,
                call.request.include_usage_asked,
            ))),
            Conversion::ChatAsResponses => {
                responses().map(|r| StreamAdapter::ChatAsResponses(Box::new(r)))
            }
            Conversion::MessagesAsResponses => responses().map(|r| {
                StreamAdapter::MessagesAsResponses(Box::new((MessagesToChat::new(model, true), r)))
            }),
        };
        adapter.map(Box::new)
    }

    /// The client's error event for a stream that broke after its first byte.
    pub fn error(&mut self, message: &str, out: &mut String) {
        match self {
            StreamAdapter::ChatAsMessages(t) => t.error(502, message, out),
            StreamAdapter::MessagesAsChat(_) => {
                let event = stream_error_event(RouteKind::Chat, message);
                out.push_str(&String::from_utf8_lossy(&event));
            }
            StreamAdapter::ChatAsResponses(t) => t.error("stream_interrupted", message, out),
            StreamAdapter::MessagesAsResponses(pair) => {
                pair.1.error("stream_interrupted", message, out)
            }
        }
    }

    /// One upstream event's data; the client's bytes for it (often none).
    pub fn push(&mut self, data: &[u8], out: &mut String) {
        match self {
            StreamAdapter::ChatAsMessages(t) => t.push(data, out),
            StreamAdapter::MessagesAsChat(t) => t.push(data, out),
            StreamAdapter::ChatAsResponses(t) => t.push(data, out),
            StreamAdapter::MessagesAsResponses(pair) => {
                let mut chat = String::new();
                pair.0.push(data, &mut chat);
                for event in chat.split("\n\n") {
                    if let Some(payload) = event.strip_prefix("data: ") {
                        pair.1.push(payload.as_bytes(), out);
                    }
                }
            }
        }
    }
}

/// The client's in-stream error event for a passthrough stream that broke after its first
/// byte (a translated stream's adapter writes its own).
pub fn stream_error_event(route: RouteKind, message: &str) -> Bytes {
    match route {
        RouteKind::Messages => Bytes::from(anthropic_stream_error(502, message)),
        RouteKind::Responses => {
            Bytes::from(responses_stream_error("stream_interrupted", message, 0))
        }
        _ => {
            let body = json!({"error": {"message": message, "type": "upstream_error", "code": "stream_interrupted", "param": null}});
            Bytes::from(format!("data: {body}\n\n"))
        }
    }
}

//! Anthropic Messages → OpenAI chat completions: the request a Messages client sent, for an
//! OpenAI-format channel, and that channel's answer back as a Messages answer.
//!
//! Request rules: `system` (string or text blocks joined with a blank line) becomes the first
//! `system` message; text blocks become text parts (a message of one text block becomes a plain
//! string); images become `image_url` parts (base64 as a `data:` URL); a base64 PDF becomes a
//! `file` part, a plain-text document a text part, a document by URL a text part naming the
//! URL; `tool_use` blocks become the assistant's `tool_calls` (input serialised as
//! `arguments`); each `tool_result` becomes a `tool` message placed before the rest of its user
//! message (text joined; `is_error` prefixes `Error: `; images in a result follow in the user
//! message); `thinking` and `redacted_thinking` blocks of earlier turns are dropped (chat has
//! no way to send them back); `cache_control` is dropped. `stop_sequences` → `stop`,
//! `metadata.user_id` → `user`, `tool_choice` auto/any/tool/none → auto/required/function/none
//! and `disable_parallel_tool_use` → `parallel_tool_calls: false`; `max_tokens`,
//! `temperature`, `top_p` and `stream` keep their names (a stream asks for usage). `top_k` and
//! `thinking` are dropped: OpenAI's API rejects `top_k`, and has no thinking budget. Server
//! tools (a tool with a versioned `type`) cannot be called through chat: an error.

use serde_json::{json, Map, Value};

use super::anthropic::{
    stop_reason, ContentBlock, Message, MessageContent, MessagesRequest, MessagesResponse, Role,
    Source, SystemPrompt, Tool, ToolChoice, ToolResultContent, Usage,
};
use super::chat::{
    ChatContent, ChatMessage, ChatPart, ChatRequest, ChatResponse, ChatTool, ChatUsage, FilePart,
    FunctionCall, FunctionDef, ImageUrl, ToolCall,
};
use super::TranslateError;

/// The chat request for a Messages request.
pub fn messages_request_to_chat(request: &MessagesRequest) -> Result<ChatRequest, TranslateError> {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        let text = system_text(system);
        if !text.is_empty() {
            messages.push(ChatMessage::new("system", Some(ChatContent::Text(text))));
        }
    }
    for message in &request.messages {
        match message.role {
            Role::User => push_user(&mut messages, message),
            Role::Assistant => messages.push(assistant_to_chat(message)),
        }
    }
    let (tool_choice, parallel_tool_calls) = tool_choice_to_chat(request.tool_choice.as_ref());
    let stream = request.stream.unwrap_or(false);
    Ok(ChatRequest {
        model: request.model.clone(),
        messages,
        max_tokens: request.max_tokens,
        stop: request
            .stop_sequences
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| json!(s)),
        stream: request.stream,
        stream_options: stream.then(|| json!({"include_usage": true})),
        temperature: request.temperature,
        top_p: request.top_p,
        tools: tools_to_chat(request.tools.as_deref())?,
        tool_choice,
        parallel_tool_calls,
        user: request.metadata.as_ref().and_then(|m| m.user_id.clone()),
        ..ChatRequest::default()
    })
}

/// `system` as one string: text blocks joined with a blank line.
pub fn system_text(system: &SystemPrompt) -> String {
    match system {
        SystemPrompt::Text(text) => text.clone(),
        SystemPrompt::Blocks(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn push_user(out: &mut Vec<ChatMessage>, message: &Message) {
    let blocks = match &message.content {
        MessageContent::Text(text) => {
            out.push(ChatMessage::new(
                "user",
                Some(ChatContent::Text(text.clone())),
            ));
            return;
        }
        MessageContent::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
                ..
            } => {
                let (text, images) = tool_result_parts(content.as_ref());
                let text = if *is_error == Some(true) {
                    format!("Error: {text}")
                } else {
                    text
                };
                let mut tool = ChatMessage::new("tool", Some(ChatContent::Text(text)));
                tool.tool_call_id = Some(tool_use_id.clone());
                out.push(tool);
                parts.extend(images);
            }
            other => parts.extend(block_to_part(other)),
        }
    }
    if !parts.is_empty() {
        out.push(ChatMessage::new("user", Some(parts_content(parts))));
    }
}

/// One text part reads as a plain string (what every OpenAI-compatible server accepts).
fn parts_content(mut parts: Vec<ChatPart>) -> ChatContent {
    if let [ChatPart::Text { text }] = parts.as_mut_slice() {
        return ChatContent::Text(std::mem::take(text));
    }
    ChatContent::Parts(parts)
}

fn tool_result_parts(content: Option<&ToolResultContent>) -> (String, Vec<ChatPart>) {
    match content {
        None => (String::new(), Vec::new()),
        Some(ToolResultContent::Text(text)) => (text.clone(), Vec::new()),
        Some(ToolResultContent::Blocks(blocks)) => {
            let mut texts = Vec::new();
            let mut images = Vec::new();
            for block in blocks {
                match block {
                    ContentBlock::Text { text, .. } => texts.push(text.as_str()),
                    other => images.extend(block_to_part(other)),
                }
            }
            (texts.join("\n"), images)
        }
    }
}

/// A user content block as a chat part; blocks chat cannot carry give none.
fn block_to_part(block: &ContentBlock) -> Option<ChatPart> {
    match block {
        ContentBlock::Text { text, .. } => Some(ChatPart::Text { text: text.clone() }),
        ContentBlock::Image { source, .. } => source_url(source).map(|url| ChatPart::ImageUrl {
            image_url: ImageUrl { url, detail: None },
        }),
        ContentBlock::Document { source, extra } => document_part(source, extra),
        _ => None,
    }
}

fn source_url(source: &Source) -> Option<String> {
    match source {
        Source::Base64 { media_type, data } => Some(format!("data:{media_type};base64,{data}")),
        Source::Url { url } => Some(url.clone()),
        _ => None,
    }
}

fn document_part(source: &Source, extra: &Map<String, Value>) -> Option<ChatPart> {
    match source {
        Source::Base64 { media_type, data } => {
            let title = extra.get("title").and_then(Value::as_str);
            Some(ChatPart::File {
                file: FilePart {
                    file_data: Some(format!("data:{media_type};base64,{data}")),
                    file_id: None,
                    filename: Some(title.unwrap_or("document.pdf").to_owned()),
                },
            })
        }
        Source::Text { data, .. } => Some(ChatPart::Text { text: data.clone() }),
        Source::Url { url } => Some(ChatPart::Text {
            text: format!("Document: {url}"),
        }),
        Source::Other(_) => None,
    }
}

fn assistant_to_chat(message: &Message) -> ChatMessage {
    let blocks = match &message.content {
        MessageContent::Text(text) => {
            return ChatMessage::new("assistant", Some(ChatContent::Text(text.clone())));
        }
        MessageContent::Blocks(blocks) => blocks,
    };
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(t),
            ContentBlock::ToolUse {
                id, name, input, ..
            } => calls.push(ToolCall {
                id: id.clone(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: name.clone(),
                    arguments: arguments_of(input),
                },
            }),
            _ => {}
        }
    }
    let content = (!text.is_empty() || calls.is_empty()).then_some(ChatContent::Text(text));
    let mut out = ChatMessage::new("assistant", content);
    out.tool_calls = (!calls.is_empty()).then_some(calls);
    out
}

/// A tool input as chat `arguments`: its JSON text (`{}` for none).
fn arguments_of(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

fn tools_to_chat(tools: Option<&[Tool]>) -> Result<Option<Vec<ChatTool>>, TranslateError> {
    let Some(tools) = tools.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(tools.len());
    for tool in tools {
        if let Some(kind) = tool.kind.as_deref().filter(|k| *k != "custom") {
            return Err(TranslateError(format!(
                "tool {:?} is an Anthropic server tool ({kind}); it can only run on an Anthropic channel. Ask for a Claude model, or define it as a client tool with an input_schema.",
                tool.name
            )));
        }
        out.push(ChatTool {
            kind: "function".to_owned(),
            function: FunctionDef {
                name: tool.name.clone(),
                description: tool.description.clone(),
                parameters: Some(
                    tool.input_schema
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                ),
                strict: None,
            },
        });
    }
    Ok(Some(out))
}

fn tool_choice_to_chat(choice: Option<&ToolChoice>) -> (Option<Value>, Option<bool>) {
    let Some(choice) = choice else {
        return (None, None);
    };
    let (value, no_parallel) = match choice {
        ToolChoice::Auto {
            disable_parallel_tool_use,
        } => (json!("auto"), *disable_parallel_tool_use),
        ToolChoice::Any {
            disable_parallel_tool_use,
        } => (json!("required"), *disable_parallel_tool_use),
        ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        } => (
            json!({"type": "function", "function": {"name": name}}),
            *disable_parallel_tool_use,
        ),
        ToolChoice::None => (json!("none"), None),
    };
    (Some(value), no_parallel.filter(|d| *d).map(|_| false))
}

/// A chat `finish_reason` as a Messages `stop_reason`.
pub fn finish_to_stop_reason(finish_reason: Option<&str>) -> &'static str {
    match finish_reason {
        Some("length") => stop_reason::MAX_TOKENS,
        Some("tool_calls" | "function_call") => stop_reason::TOOL_USE,
        Some("content_filter") => stop_reason::REFUSAL,
        _ => stop_reason::END_TURN,
    }
}

/// Chat usage as Anthropic counts it: `input_tokens` leaves out cache reads and writes.
pub fn chat_usage_to_anthropic(usage: &ChatUsage) -> Usage {
    let reads = usage
        .cache_read_input_tokens
        .unwrap_or_else(|| usage.cached_tokens());
    let writes = usage.cache_creation_input_tokens.unwrap_or(0);
    Usage {
        input_tokens: usage.prompt_tokens.saturating_sub(reads + writes),
        output_tokens: usage.billed_completion_tokens(),
        cache_creation_input_tokens: writes,
        cache_read_input_tokens: reads,
    }
}

/// A chat answer as a Messages answer (the first choice).
pub fn chat_response_to_messages(answer: &ChatResponse) -> MessagesResponse {
    let choice = answer.choices.first();
    let mut content = Vec::new();
    if let Some(message) = choice.map(|c| &c.message) {
        if let Some(reasoning) = message.reasoning_text() {
            content.push(ContentBlock::Thinking {
                thinking: reasoning.to_owned(),
                signature: String::new(),
                extra: Map::new(),
            });
        }
        content.extend(assistant_blocks(message));
    }
    let finish = choice.and_then(|c| c.finish_reason.as_deref());
    MessagesResponse {
        id: message_id(&answer.id),
        kind: "message".to_owned(),
        role: Role::Assistant,
        content,
        model: answer.model.clone(),
        stop_reason: Some(finish_to_stop_reason(finish).to_owned()),
        stop_sequence: None,
        usage: answer
            .usage
            .as_ref()
            .map(chat_usage_to_anthropic)
            .unwrap_or_default(),
    }
}

/// A chat assistant message's text and tool calls as Messages content blocks.
pub fn assistant_blocks(message: &ChatMessage) -> Vec<ContentBlock> {
    let mut blocks = Vec::new();
    let text = message.text();
    if !text.is_empty() {
        blocks.push(ContentBlock::text(text));
    }
    for call in message.tool_calls.iter().flatten() {
        blocks.push(ContentBlock::ToolUse {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input: input_of(&call.function.arguments),
            extra: Map::new(),
        });
    }
    blocks
}

/// Tool-call `arguments` as a Messages `input` object; text that is not a JSON object gives
/// `{}` (Anthropic requires an object).
pub fn input_of(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::Object(Map::new()),
    }
}

/// A Messages id for a chat answer id: `msg_` + the id without its `chatcmpl-` prefix.
pub fn message_id(chat_id: &str) -> String {
    let bare = chat_id.strip_prefix("chatcmpl-").unwrap_or(chat_id);
    if bare.is_empty() {
        "msg_gateway".to_owned()
    } else {
        format!("msg_{bare}")
    }
}

#[cfg(test)]
#[path = "to_chat_tests.rs"]
mod tests;

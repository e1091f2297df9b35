//! OpenAI chat completions → Anthropic Messages: an OpenAI client's request for a native
//! Anthropic channel, and that channel's answer back as a chat answer.
//!
//! Request rules: `system` and `developer` messages become `system` (joined with a blank
//! line); user text and parts become blocks (`image_url` with a `data:` URL → a base64 image,
//! any other URL → a URL image; a `file` part with `file_data` → a base64 document); an
//! assistant's `tool_calls` become `tool_use` blocks (arguments parsed; text that is not a JSON
//! object gives `{}`); `tool` messages become `tool_result` blocks of a user turn; consecutive
//! turns of one role are merged (Anthropic wants them alternating). `max_completion_tokens`,
//! else `max_tokens`, else [`DEFAULT_MAX_TOKENS`] (Anthropic requires one); `stop` →
//! `stop_sequences`; `temperature` is capped at 1 (Anthropic's range); `user` →
//! `metadata.user_id`; `tool_choice` auto/required/none/function → auto/any/none/tool, and
//! `parallel_tool_calls: false` → `disable_parallel_tool_use`. Lost on the way: `n`,
//! `logprobs`, `response_format`, `seed`, penalties, `reasoning_effort`, audio parts.

use serde_json::{json, Map, Value};

use super::anthropic::{
    stop_reason, ContentBlock, Message, MessageContent, MessagesRequest, MessagesResponse,
    Metadata, Role, Source, SystemPrompt, Tool, ToolChoice, ToolResultContent,
};
use super::chat::{
    ChatChoice, ChatContent, ChatMessage, ChatPart, ChatRequest, ChatResponse, ChatUsage,
    FunctionCall, TokenDetails, ToolCall,
};
use super::to_chat::assistant_blocks;
use super::{unix_now, TranslateError};

/// `max_tokens` for a chat request that names none (Anthropic requires the field).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The Messages request for a chat request.
pub fn chat_request_to_messages(request: &ChatRequest) -> Result<MessagesRequest, TranslateError> {
    let mut system = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for message in &request.messages {
        match message.role.as_str() {
            "system" | "developer" => system.push(message.text()),
            "user" => push_turn(&mut messages, Role::User, user_blocks(message)?),
            "assistant" => push_turn(&mut messages, Role::Assistant, assistant_blocks(message)),
            "tool" => push_turn(&mut messages, Role::User, vec![tool_result(message)]),
            other => {
                return Err(TranslateError(format!(
                    "messages: role {other:?} cannot be sent to an Anthropic model; use system, user, assistant or tool."
                )))
            }
        }
    }
    let (tool_choice, tools) = tools_to_messages(request);
    Ok(MessagesRequest {
        model: request.model.clone(),
        messages,
        max_tokens: Some(
            request
                .max_completion_tokens
                .or(request.max_tokens)
                .unwrap_or(DEFAULT_MAX_TOKENS),
        ),
        system: (!system.is_empty()).then(|| SystemPrompt::Text(system.join("\n\n"))),
        stop_sequences: stop_sequences(request.stop.as_ref()),
        stream: request.stream,
        temperature: request.temperature.map(|t| t.min(1.0)),
        top_p: request.top_p,
        top_k: None,
        metadata: request.user.as_ref().map(|user| Metadata {
            user_id: Some(user.clone()),
            extra: Map::new(),
        }),
        tools,
        tool_choice,
        thinking: None,
        extra: Map::new(),
    })
}

/// Appends `blocks` as a `role` turn, merged into the previous turn of the same role.
fn push_turn(messages: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if let Some(last) = messages.last_mut().filter(|m| m.role == role) {
        let previous = std::mem::replace(&mut last.content, MessageContent::Blocks(Vec::new()));
        let mut merged = match previous {
            MessageContent::Text(text) => vec![ContentBlock::text(text)],
            MessageContent::Blocks(blocks) => blocks,
        };
        merged.extend(blocks);
        last.content = MessageContent::Blocks(merged);
        return;
    }
    let content = match blocks.as_slice() {
        [ContentBlock::Text { text, extra }] if extra.is_empty() => {
            MessageContent::Text(text.clone())
        }
        _ => MessageContent::Blocks(blocks),
    };
    messages.push(Message { role, content });
}

fn user_blocks(message: &ChatMessage) -> Result<Vec<ContentBlock>, TranslateError> {
    let parts = match &message.content {
        None => return Ok(Vec::new()),
        Some(ChatContent::Text(text)) => return Ok(vec![ContentBlock::text(text.clone())]),
        Some(ChatContent::Parts(parts)) => parts,
    };
    parts.iter().map(part_to_block).collect()
}

fn part_to_block(part: &ChatPart) -> Result<ContentBlock, TranslateError> {
    match part {
        ChatPart::Text { text } => Ok(ContentBlock::text(text.clone())),
        ChatPart::ImageUrl { image_url } => Ok(ContentBlock::Image {
            source: source_of(&image_url.url),
            extra: Map::new(),
        }),
        ChatPart::File { file } => match file.file_data.as_deref() {
            Some(data) => Ok(ContentBlock::Document {
                source: source_of(data),
                extra: Map::new(),
            }),
            None => Err(TranslateError(
                "a file part needs file_data to reach an Anthropic model (file ids are OpenAI's own).".to_owned(),
            )),
        },
        ChatPart::Other(value) => Err(TranslateError(format!(
            "content part of type {} cannot be sent to an Anthropic model.",
            value.get("type").unwrap_or(&Value::Null)
        ))),
    }
}

/// A `data:<media>;base64,<data>` URL as a base64 source; any other URL as a URL source.
fn source_of(url: &str) -> Source {
    let parsed = url.strip_prefix("data:").and_then(|rest| {
        let (media_type, data) = rest.split_once(";base64,")?;
        Some(Source::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        })
    });
    parsed.unwrap_or_else(|| Source::Url {
        url: url.to_owned(),
    })
}

fn tool_result(message: &ChatMessage) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: message.tool_call_id.clone().unwrap_or_default(),
        content: Some(ToolResultContent::Text(message.text())),
        is_error: None,
        extra: Map::new(),
    }
}

fn stop_sequences(stop: Option<&Value>) -> Option<Vec<String>> {
    match stop? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => {
            let list: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            (!list.is_empty()).then_some(list)
        }
        _ => None,
    }
}

fn tools_to_messages(request: &ChatRequest) -> (Option<ToolChoice>, Option<Vec<Tool>>) {
    let tools: Option<Vec<Tool>> = request.tools.as_ref().map(|tools| {
        tools
            .iter()
            .map(|tool| Tool {
                name: tool.function.name.clone(),
                description: tool.function.description.clone(),
                input_schema: Some(
                    tool.function
                        .parameters
                        .clone()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                ),
                kind: None,
                extra: Map::new(),
            })
            .collect()
    });
    let no_parallel = (request.parallel_tool_calls == Some(false)).then_some(true);
    let named = |o: &Map<String, Value>| {
        let name = o.get("function")?.get("name")?.as_str()?;
        Some(name.to_owned())
    };
    let choice = match request.tool_choice.as_ref() {
        Some(Value::String(s)) if s == "none" => Some(ToolChoice::None),
        Some(Value::String(s)) if s == "required" => Some(ToolChoice::Any {
            disable_parallel_tool_use: no_parallel,
        }),
        Some(Value::String(s)) if s == "auto" => Some(ToolChoice::Auto {
            disable_parallel_tool_use: no_parallel,
        }),
        Some(Value::Object(o)) if named(o).is_some() => named(o).map(|name| ToolChoice::Tool {
            name,
            disable_parallel_tool_use: no_parallel,
        }),
        _ => no_parallel.map(|_| ToolChoice::Auto {
            disable_parallel_tool_use: no_parallel,
        }),
    };
    (choice, tools)
}

/// A Messages `stop_reason` as a chat `finish_reason`.
pub fn stop_reason_to_finish(stop: Option<&str>) -> &'static str {
    match stop {
        Some(stop_reason::MAX_TOKENS) => "length",
        Some(stop_reason::TOOL_USE) => "tool_calls",
        Some(stop_reason::REFUSAL) => "content_filter",
        _ => "stop",
    }
}

/// Anthropic usage as chat usage: prompt = input + cache reads + cache writes; the cache
/// figures ride along under Anthropic's names and in `prompt_tokens_details.cached_tokens`.
pub fn anthropic_usage_to_chat(usage: &super::anthropic::Usage) -> ChatUsage {
    let prompt =
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    ChatUsage {
        prompt_tokens: prompt,
        completion_tokens: usage.output_tokens,
        total_tokens: prompt + usage.output_tokens,
        prompt_tokens_details: Some(TokenDetails {
            cached_tokens: Some(usage.cache_read_input_tokens),
            reasoning_tokens: None,
        }),
        completion_tokens_details: None,
        cache_creation_input_tokens: Some(usage.cache_creation_input_tokens),
        cache_read_input_tokens: Some(usage.cache_read_input_tokens),
    }
}

/// A Messages answer as a chat answer (one choice).
pub fn messages_response_to_chat(answer: &MessagesResponse) -> ChatResponse {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for block in &answer.content {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(t),
            ContentBlock::Thinking { thinking: t, .. } => thinking.push_str(t),
            ContentBlock::ToolUse {
                id, name, input, ..
            } => calls.push(ToolCall {
                id: id.clone(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: name.clone(),
                    arguments: input.to_string(),
                },
            }),
            _ => {}
        }
    }
    let content = (!text.is_empty() || calls.is_empty()).then_some(ChatContent::Text(text));
    let mut message = ChatMessage::new("assistant", content);
    message.reasoning_content = (!thinking.is_empty()).then_some(thinking);
    message.tool_calls = (!calls.is_empty()).then_some(calls);
    ChatResponse {
        id: chat_id(&answer.id),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: answer.model.clone(),
        choices: vec![ChatChoice {
            index: 0,
            message,
            finish_reason: Some(stop_reason_to_finish(answer.stop_reason.as_deref()).to_owned()),
            logprobs: None,
        }],
        usage: Some(anthropic_usage_to_chat(&answer.usage)),
    }
}

/// A chat id for a Messages id: `chatcmpl-` + the id without its `msg_` prefix.
pub fn chat_id(message_id: &str) -> String {
    format!(
        "chatcmpl-{}",
        message_id.strip_prefix("msg_").unwrap_or(message_id)
    )
}

#[cfg(test)]
#[path = "from_chat_tests.rs"]
mod tests;

//! OpenAI Responses ↔ chat completions: a Responses request for any chat channel, and the chat
//! answer back as a Responses answer.
//!
//! Request rules: `instructions` becomes the first `system` message; `input` as a string is one
//! user message; message items keep their role (`developer` becomes `system`, which every
//! chat server knows) with `input_text`/`output_text` as text and `input_image` as
//! an `image_url` part, `input_file` with `file_data` as a `file` part; consecutive
//! `function_call` items become one assistant message's `tool_calls`; a `function_call_output`
//! becomes a `tool` message; reasoning items are dropped. Function tools keep name,
//! description, parameters and strict; built-in tools (web search, file search, ...) are an
//! error. `max_output_tokens` → `max_tokens`; `text.format` json_schema → `response_format`
//! json_schema (name, schema, strict, description), json_object → json_object;
//! `reasoning.effort` → `reasoning_effort`. The gateway keeps no conversation:
//! `previous_response_id` and `store: true` are refused ([`check_stateless`]).

use serde_json::{json, Value};

use super::chat::{
    ChatContent, ChatMessage, ChatPart, ChatRequest, ChatResponse, ChatTool, ChatUsage, FilePart,
    FunctionCall, FunctionDef, ImageUrl, ToolCall,
};
use super::responses::{
    CachedDetails, InputItem, InputPart, OutputContent, OutputItem, ReasoningDetails,
    ResponseObject, ResponsesRequest, ResponsesUsage,
};
use super::{unix_now, TranslateError};

/// Refuses what needs stored conversations: the client's 400 message.
pub fn check_stateless(request: &ResponsesRequest) -> Result<(), TranslateError> {
    if request.previous_response_id.is_some() {
        return Err(TranslateError(
            "previous_response_id is not supported: this gateway keeps no conversation state. Send the whole conversation in `input` instead.".to_owned(),
        ));
    }
    if request.store == Some(true) {
        return Err(TranslateError(
            "store: true is not supported: this gateway keeps no conversation state. Leave `store` out (or set it to false) and send the whole conversation in `input`.".to_owned(),
        ));
    }
    Ok(())
}

/// The chat request for a Responses request.
pub fn responses_request_to_chat(
    request: &ResponsesRequest,
) -> Result<ChatRequest, TranslateError> {
    let mut messages = Vec::new();
    if let Some(instructions) = request.instructions.as_ref().filter(|i| !i.is_empty()) {
        messages.push(ChatMessage::new(
            "system",
            Some(ChatContent::Text(instructions.clone())),
        ));
    }
    match &request.input {
        Value::String(text) => messages.push(ChatMessage::new(
            "user",
            Some(ChatContent::Text(text.clone())),
        )),
        Value::Array(items) => {
            for (at, item) in items.iter().enumerate() {
                let item = InputItem::from_value(item).ok_or_else(|| {
                    TranslateError(format!(
                        "input[{at}] is not a message, function_call or function_call_output item."
                    ))
                })?;
                push_item(&mut messages, item);
            }
        }
        _ => {
            return Err(TranslateError(
                "`input` must be a string or a list of items.".to_owned(),
            ))
        }
    }
    let stream = request.stream.unwrap_or(false);
    Ok(ChatRequest {
        model: request.model.clone(),
        messages,
        max_tokens: request.max_output_tokens,
        stream: request.stream,
        stream_options: stream.then(|| json!({"include_usage": true})),
        temperature: request.temperature,
        top_p: request.top_p,
        tools: tools_to_chat(request)?,
        tool_choice: request.tool_choice.as_ref().map(tool_choice_to_chat),
        parallel_tool_calls: request.parallel_tool_calls,
        user: request.user.clone(),
        response_format: request
            .text
            .as_ref()
            .and_then(|t| t.format.as_ref())
            .and_then(format_to_chat),
        reasoning_effort: request
            .reasoning
            .as_ref()
            .and_then(|r| r.get("effort"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..ChatRequest::default()
    })
}

fn push_item(messages: &mut Vec<ChatMessage>, item: InputItem) {
    match item {
        InputItem::Message { role, content } => {
            let role = if role == "developer" {
                "system"
            } else {
                role.as_str()
            };
            let parts: Vec<ChatPart> = content.into_iter().filter_map(part_to_chat).collect();
            let content = match parts.as_slice() {
                [ChatPart::Text { text }] => ChatContent::Text(text.clone()),
                _ => ChatContent::Parts(parts),
            };
            messages.push(ChatMessage::new(role, Some(content)));
        }
        InputItem::FunctionCall {
            call_id,
            name,
            arguments,
        } => {
            let call = ToolCall {
                id: call_id,
                kind: "function".to_owned(),
                function: FunctionCall { name, arguments },
            };
            match messages.last_mut() {
                Some(last) if last.role == "assistant" => {
                    last.tool_calls.get_or_insert_with(Vec::new).push(call)
                }
                _ => {
                    let mut message = ChatMessage::new("assistant", None);
                    message.tool_calls = Some(vec![call]);
                    messages.push(message);
                }
            }
        }
        InputItem::FunctionCallOutput { call_id, output } => {
            let mut message = ChatMessage::new("tool", Some(ChatContent::Text(output)));
            message.tool_call_id = Some(call_id);
            messages.push(message);
        }
        InputItem::Other(_) => {}
    }
}

fn part_to_chat(part: InputPart) -> Option<ChatPart> {
    match part {
        InputPart::InputText { text } | InputPart::OutputText { text } => {
            Some(ChatPart::Text { text })
        }
        InputPart::Refusal { refusal } => Some(ChatPart::Text { text: refusal }),
        InputPart::InputImage { image_url, detail } => Some(ChatPart::ImageUrl {
            image_url: ImageUrl {
                url: image_url?,
                detail,
            },
        }),
        InputPart::InputFile {
            file_data,
            filename,
        } => Some(ChatPart::File {
            file: FilePart {
                file_data: Some(file_data?),
                file_id: None,
                filename,
            },
        }),
        InputPart::Other(_) => None,
    }
}

fn tools_to_chat(request: &ResponsesRequest) -> Result<Option<Vec<ChatTool>>, TranslateError> {
    let Some(tools) = request.tools.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    tools
        .iter()
        .map(|tool| {
            if tool.kind != "function" {
                return Err(TranslateError(format!(
                    "tools: the built-in tool {:?} is not available through this gateway; only function tools are.",
                    tool.kind
                )));
            }
            Ok(ChatTool {
                kind: "function".to_owned(),
                function: FunctionDef {
                    name: tool.name.clone().unwrap_or_default(),
                    description: tool.description.clone(),
                    parameters: tool.parameters.clone(),
                    strict: tool.strict,
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `{"type":"function","name":N}` → chat's `{"type":"function","function":{"name":N}}`;
/// strings stay.
fn tool_choice_to_chat(choice: &Value) -> Value {
    match choice.get("name") {
        Some(name) if choice.get("type") == Some(&json!("function")) => {
            json!({"type": "function", "function": {"name": name}})
        }
        _ => choice.clone(),
    }
}

fn format_to_chat(format: &Value) -> Option<Value> {
    match format.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            let mut schema = serde_json::Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(value) = format.get(key) {
                    schema.insert(key.to_owned(), value.clone());
                }
            }
            Some(json!({"type": "json_schema", "json_schema": schema}))
        }
        "json_object" => Some(json!({"type": "json_object"})),
        _ => None,
    }
}

/// A response id for a chat answer id: `resp_` + the id without its `chatcmpl-` prefix.
pub fn response_id(chat_id: &str) -> String {
    let bare = chat_id.strip_prefix("chatcmpl-").unwrap_or(chat_id);
    format!("resp_{}", if bare.is_empty() { "gateway" } else { bare })
}

/// The response object before any output: what the request asked, echoed as the API does.
pub fn response_shell(request: &ResponsesRequest, id: String, model: String) -> ResponseObject {
    ResponseObject {
        id,
        object: "response".to_owned(),
        created_at: unix_now(),
        status: "in_progress".to_owned(),
        error: None,
        incomplete_details: None,
        instructions: request.instructions.clone(),
        max_output_tokens: request.max_output_tokens,
        model,
        output: Vec::new(),
        parallel_tool_calls: request.parallel_tool_calls.unwrap_or(true),
        temperature: request.temperature,
        tool_choice: request.tool_choice.clone().unwrap_or_else(|| json!("auto")),
        tools: request.tools.clone().unwrap_or_default(),
        top_p: request.top_p,
        text: request
            .text
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .unwrap_or_else(|| json!({"format": {"type": "text"}})),
        store: false,
        metadata: request.metadata.clone().unwrap_or_else(|| json!({})),
        usage: None,
    }
}

/// Chat usage in the Responses shape.
pub fn chat_usage_to_responses(usage: &ChatUsage) -> ResponsesUsage {
    ResponsesUsage {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: CachedDetails {
            cached_tokens: usage.cached_tokens(),
        },
        output_tokens: usage.billed_completion_tokens(),
        output_tokens_details: ReasoningDetails {
            reasoning_tokens: usage.reasoning_tokens(),
        },
        total_tokens: usage
            .total_tokens
            .max(usage.prompt_tokens + usage.billed_completion_tokens()),
    }
}

/// Marks a finished response: `completed`, or `incomplete` when the output hit the limit.
pub fn finish_response(response: &mut ResponseObject, finish_reason: Option<&str>) {
    if finish_reason == Some("length") {
        response.status = "incomplete".to_owned();
        response.incomplete_details = Some(json!({"reason": "max_output_tokens"}));
    } else {
        response.status = "completed".to_owned();
    }
}

/// A chat answer as a Responses answer (the first choice).
pub fn chat_response_to_responses(
    request: &ResponsesRequest,
    answer: &ChatResponse,
) -> ResponseObject {
    let id = response_id(&answer.id);
    let mut response = response_shell(request, id.clone(), answer.model.clone());
    let choice = answer.choices.first();
    if let Some(message) = choice.map(|c| &c.message) {
        let text = message.text();
        if !text.is_empty() {
            response.output.push(message_item(&id, text, "completed"));
        }
        for call in message.tool_calls.iter().flatten() {
            response.output.push(function_call_item(
                &call.id,
                &call.function.name,
                call.function.arguments.clone(),
                "completed",
            ));
        }
    }
    finish_response(
        &mut response,
        choice.and_then(|c| c.finish_reason.as_deref()),
    );
    response.usage = answer.usage.as_ref().map(chat_usage_to_responses);
    response
}

/// The assistant message item of response `response_id`.
pub fn message_item(response_id: &str, text: String, status: &str) -> OutputItem {
    OutputItem::Message {
        id: message_item_id(response_id),
        status: status.to_owned(),
        role: "assistant".to_owned(),
        content: vec![OutputContent::OutputText {
            text,
            annotations: Vec::new(),
        }],
    }
}

pub fn message_item_id(response_id: &str) -> String {
    format!(
        "msg_{}",
        response_id.strip_prefix("resp_").unwrap_or(response_id)
    )
}

/// A function call item; its item id is derived from the call id.
pub fn function_call_item(
    call_id: &str,
    name: &str,
    arguments: String,
    status: &str,
) -> OutputItem {
    OutputItem::FunctionCall {
        id: function_item_id(call_id),
        call_id: call_id.to_owned(),
        name: name.to_owned(),
        arguments,
        status: status.to_owned(),
    }
}

pub fn function_item_id(call_id: &str) -> String {
    format!("fc_{}", call_id.strip_prefix("call_").unwrap_or(call_id))
}

#[cfg(test)]
#[path = "responses_translate_tests.rs"]
mod tests;

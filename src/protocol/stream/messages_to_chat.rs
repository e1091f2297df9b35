//! Anthropic Messages stream events → chat completion chunks, for an OpenAI client served by a
//! native Anthropic channel.
//!
//! `message_start` gives the first chunk (`role: assistant`, empty content); `text_delta` →
//! `content`, `thinking_delta` → `reasoning_content`; a `tool_use` block start → a tool call
//! (index counted over the tool blocks, id and name, empty arguments) and each
//! `input_json_delta` → that call's `arguments`; `message_delta` → a chunk with the
//! `finish_reason`; `message_stop` → the usage chunk (`choices: []`, when the client asked for
//! usage) and `data: [DONE]`. `ping` and `signature_delta` give nothing; an `error` event
//! gives `{"error":{"message","type"}}` and ends the stream. Usage is Anthropic's, read with
//! [`AnthropicStreamUsage`] and converted (prompt = input + cache reads + writes).

use serde_json::{json, Value};

use super::super::anthropic::{BlockDelta, ContentBlock, StreamEvent, Usage};
use super::super::chat::{ChatChunk, ChunkChoice, ChunkDelta, FunctionDelta, ToolCallDelta};
use super::super::from_chat::{anthropic_usage_to_chat, chat_id, stop_reason_to_finish};
use super::super::unix_now;
use crate::usage::anthropic_usage::AnthropicStreamUsage;

/// The translator's state (see the module doc).
#[derive(Debug)]
pub struct MessagesToChat {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    finished: bool,
    /// Block index → tool-call index, for `tool_use` blocks.
    tools: Vec<(u32, u32)>,
    usage: AnthropicStreamUsage,
}

impl MessagesToChat {
    /// `include_usage`: the client asked for `stream_options.include_usage`.
    pub fn new(model: &str, include_usage: bool) -> Self {
        MessagesToChat {
            id: "chatcmpl-gateway".to_owned(),
            model: model.to_owned(),
            created: unix_now(),
            include_usage,
            finished: false,
            tools: Vec::new(),
            usage: AnthropicStreamUsage::new(),
        }
    }

    /// One upstream event's data.
    pub fn push(&mut self, data: &[u8], out: &mut String) {
        if self.finished {
            return;
        }
        self.usage.observe(data);
        let Ok(event) = serde_json::from_slice::<StreamEvent>(data) else {
            return;
        };
        match event {
            StreamEvent::MessageStart { message } => {
                self.id = chat_id(&message.id);
                if !message.model.is_empty() {
                    self.model = message.model;
                }
                let delta = ChunkDelta {
                    role: Some("assistant".to_owned()),
                    content: Some(String::new()),
                    ..ChunkDelta::default()
                };
                self.emit(delta, None, out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(index, content_block, out),
            StreamEvent::ContentBlockDelta { index, delta } => self.block_delta(index, delta, out),
            StreamEvent::MessageDelta { delta, .. } => {
                let finish = stop_reason_to_finish(delta.stop_reason.as_deref());
                self.emit(ChunkDelta::default(), Some(finish), out);
            }
            StreamEvent::MessageStop => self.finish(out),
            StreamEvent::Error { error } => {
                let body = json!({"error": {"message": error.message, "type": error.kind}});
                push_data(&body.to_string(), out);
                self.finished = true;
            }
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping => {}
        }
    }

    /// The usage chunk (when asked for) and `[DONE]`.
    pub fn finish(&mut self, out: &mut String) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.include_usage {
            let counts = self.usage.counts();
            let usage = Usage {
                input_tokens: counts.input_tokens.unwrap_or(0),
                output_tokens: counts.output_tokens.unwrap_or(0),
                cache_creation_input_tokens: counts.cache_creation_input_tokens.unwrap_or(0),
                cache_read_input_tokens: counts.cache_read_input_tokens.unwrap_or(0),
            };
            let chunk = ChatChunk {
                id: self.id.clone(),
                object: "chat.completion.chunk".to_owned(),
                created: self.created,
                model: self.model.clone(),
                choices: Vec::new(),
                usage: Some(anthropic_usage_to_chat(&usage)),
            };
            push_data(&to_json(&chunk), out);
        }
        out.push_str("data: [DONE]\n\n");
    }

    /// Usage so far, in the gateway's terms (for the usage record).
    pub fn usage(&self) -> Option<crate::usage::tap::Usage> {
        self.usage.usage()
    }

    fn block_start(&mut self, index: u32, block: ContentBlock, out: &mut String) {
        match block {
            ContentBlock::ToolUse { id, name, .. } => {
                let tool_index = self.tools.len() as u32;
                self.tools.push((index, tool_index));
                let call = ToolCallDelta {
                    index: tool_index,
                    id: Some(id),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionDelta {
                        name: Some(name),
                        arguments: Some(String::new()),
                    }),
                };
                self.emit_tool(call, out);
            }
            ContentBlock::Text { text, .. } if !text.is_empty() => {
                self.emit_content(text, out);
            }
            _ => {}
        }
    }

    fn block_delta(&mut self, index: u32, delta: BlockDelta, out: &mut String) {
        match delta {
            BlockDelta::TextDelta { text } => self.emit_content(text, out),
            BlockDelta::ThinkingDelta { thinking } => {
                let delta = ChunkDelta {
                    reasoning_content: Some(thinking),
                    ..ChunkDelta::default()
                };
                self.emit(delta, None, out);
            }
            BlockDelta::InputJsonDelta { partial_json } => {
                let Some(&(_, tool_index)) = self.tools.iter().find(|(block, _)| *block == index)
                else {
                    return;
                };
                let call = ToolCallDelta {
                    index: tool_index,
                    id: None,
                    kind: None,
                    function: Some(FunctionDelta {
                        name: None,
                        arguments: Some(partial_json),
                    }),
                };
                self.emit_tool(call, out);
            }
            BlockDelta::SignatureDelta { .. } | BlockDelta::Other(_) => {}
        }
    }

    fn emit_content(&self, text: String, out: &mut String) {
        let delta = ChunkDelta {
            content: Some(text),
            ..ChunkDelta::default()
        };
        self.emit(delta, None, out);
    }

    fn emit_tool(&self, call: ToolCallDelta, out: &mut String) {
        let delta = ChunkDelta {
            tool_calls: Some(vec![call]),
            ..ChunkDelta::default()
        };
        self.emit(delta, None, out);
    }

    fn emit(&self, delta: ChunkDelta, finish_reason: Option<&str>, out: &mut String) {
        let chunk = ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(str::to_owned),
            }],
            usage: None,
        };
        push_data(&to_json(&chunk), out);
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| Value::Null.to_string())
}

fn push_data(json: &str, out: &mut String) {
    out.push_str("data: ");
    out.push_str(json);
    out.push_str("\n\n");
}

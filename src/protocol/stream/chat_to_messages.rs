//! Chat completion chunks → Anthropic Messages stream events, for a Messages client served by
//! an OpenAI-format channel.
//!
//! Sequence: `message_start` and `ping` before the first translated content; a content block
//! per run of one kind (`thinking` from `reasoning_content`/`reasoning`, `text` from `content`,
//! `tool_use` per tool call with `input_json_delta` for its arguments), each closed by
//! `content_block_stop` when the next one starts; at the end `message_delta` (stop reason
//! from the last `finish_reason`; usage from the usage chunk, input side included) and
//! `message_stop`. An upstream `{"error":...}` chunk becomes an `error` event.

use serde_json::{json, Map, Value};

use super::super::anthropic::{
    BlockDelta, ContentBlock, ErrorBody, MessageDeltaBody, MessagesResponse, Role, StreamEvent,
    Usage,
};
use super::super::chat::{ChatChunk, ChatUsage, ToolCallDelta};
use super::super::errors::anthropic_error_type;
use super::super::to_chat::{chat_usage_to_anthropic, finish_to_stop_reason, message_id};
use super::{chunk_error, is_done};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    Tool,
}

/// The translator's state (see the module doc).
#[derive(Debug)]
pub struct ChatToMessages {
    model: String,
    started: bool,
    finished: bool,
    /// The open block: its index and kind.
    open: Option<(u32, BlockKind)>,
    next_index: u32,
    /// Chat tool-call index → block index.
    tools: Vec<(u32, u32)>,
    stop_reason: Option<&'static str>,
    usage: Option<ChatUsage>,
}

impl ChatToMessages {
    /// `model`: the model the answer names until the upstream names its own.
    pub fn new(model: &str) -> Self {
        ChatToMessages {
            model: model.to_owned(),
            started: false,
            finished: false,
            open: None,
            next_index: 0,
            tools: Vec::new(),
            stop_reason: None,
            usage: None,
        }
    }

    /// One upstream event's data.
    pub fn push(&mut self, data: &[u8], out: &mut String) {
        if self.finished {
            return;
        }
        if is_done(data) {
            self.finish(out);
            return;
        }
        if let Some((message, _)) = chunk_error(data) {
            self.error(502, &message, out);
            return;
        }
        let Ok(chunk) = serde_json::from_slice::<ChatChunk>(data) else {
            return;
        };
        self.start(&chunk.id, &chunk.model, out);
        if let Some(choice) = chunk.choices.iter().find(|c| c.index == 0) {
            let delta = &choice.delta;
            let reasoning = delta
                .reasoning_content
                .as_deref()
                .or(delta.reasoning.as_deref());
            if let Some(thinking) = reasoning.filter(|r| !r.is_empty()) {
                let index = self.ensure(BlockKind::Thinking, out);
                emit_delta(
                    index,
                    BlockDelta::ThinkingDelta {
                        thinking: thinking.to_owned(),
                    },
                    out,
                );
            }
            if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                let index = self.ensure(BlockKind::Text, out);
                emit_delta(
                    index,
                    BlockDelta::TextDelta {
                        text: text.to_owned(),
                    },
                    out,
                );
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_call(call, out);
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                self.stop_reason = Some(finish_to_stop_reason(Some(reason)));
            }
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
    }

    /// The upstream stream completed: close the open block, `message_delta`, `message_stop`.
    pub fn finish(&mut self, out: &mut String) {
        if self.finished {
            return;
        }
        self.start("", "", out);
        self.close(out);
        let usage = self
            .usage
            .as_ref()
            .map(chat_usage_to_anthropic)
            .unwrap_or_default();
        let event = StreamEvent::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(self.stop_reason.unwrap_or("end_turn").to_owned()),
                stop_sequence: None,
            },
            usage: Some(json!({
                "input_tokens": usage.input_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens,
                "output_tokens": usage.output_tokens,
            })),
        };
        out.push_str(&event.to_sse());
        out.push_str(&StreamEvent::MessageStop.to_sse());
        self.finished = true;
    }

    /// An error after the first byte: an `error` event, and nothing more.
    pub fn error(&mut self, status: u16, message: &str, out: &mut String) {
        if self.finished {
            return;
        }
        let event = StreamEvent::Error {
            error: ErrorBody {
                kind: anthropic_error_type(status).to_owned(),
                message: message.to_owned(),
            },
        };
        out.push_str(&event.to_sse());
        self.finished = true;
    }

    fn start(&mut self, chat_id: &str, model: &str, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        if !model.is_empty() {
            self.model = model.to_owned();
        }
        let message = MessagesResponse {
            id: message_id(chat_id),
            kind: "message".to_owned(),
            role: Role::Assistant,
            content: Vec::new(),
            model: self.model.clone(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage::default(),
        };
        out.push_str(&StreamEvent::MessageStart { message }.to_sse());
        out.push_str(&StreamEvent::Ping.to_sse());
    }

    /// The index of an open block of `kind`, opening one (and closing another) if needed.
    fn ensure(&mut self, kind: BlockKind, out: &mut String) -> u32 {
        if let Some((index, open)) = self.open {
            if open == kind {
                return index;
            }
        }
        let block = match kind {
            BlockKind::Thinking => ContentBlock::Thinking {
                thinking: String::new(),
                signature: String::new(),
                extra: Map::new(),
            },
            _ => ContentBlock::text(""),
        };
        self.open_block(kind, block, out)
    }

    fn open_block(&mut self, kind: BlockKind, block: ContentBlock, out: &mut String) -> u32 {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, kind));
        let event = StreamEvent::ContentBlockStart {
            index,
            content_block: block,
        };
        out.push_str(&event.to_sse());
        index
    }

    fn close(&mut self, out: &mut String) {
        if let Some((index, _)) = self.open.take() {
            out.push_str(&StreamEvent::ContentBlockStop { index }.to_sse());
        }
    }

    fn tool_call(&mut self, call: &ToolCallDelta, out: &mut String) {
        let known = self.tools.iter().find(|(tool, _)| *tool == call.index);
        let index = match known {
            Some(&(_, index)) => index,
            None => {
                let function = call.function.as_ref();
                let block = ContentBlock::ToolUse {
                    id: call
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("toolu_{}", call.index)),
                    name: function.and_then(|f| f.name.clone()).unwrap_or_default(),
                    input: Value::Object(Map::new()),
                    extra: Map::new(),
                };
                let index = self.open_block(BlockKind::Tool, block, out);
                self.tools.push((call.index, index));
                index
            }
        };
        let arguments = call.function.as_ref().and_then(|f| f.arguments.as_deref());
        if let Some(partial) = arguments.filter(|a| !a.is_empty()) {
            let delta = BlockDelta::InputJsonDelta {
                partial_json: partial.to_owned(),
            };
            emit_delta(index, delta, out);
        }
    }
}

fn emit_delta(index: u32, delta: BlockDelta, out: &mut String) {
    out.push_str(&StreamEvent::ContentBlockDelta { index, delta }.to_sse());
}

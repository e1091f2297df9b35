//! Chat completion chunks → OpenAI Responses stream events, for a Responses client served
//! through chat.
//!
//! Sequence: `response.created` and `response.in_progress` with the first chunk; the first
//! text opens a message item (`response.output_item.added`, `response.content_part.added`) and
//! each text piece is a `response.output_text.delta`; each new tool call closes the message
//! item (`response.output_text.done`, `response.content_part.done`,
//! `response.output_item.done`) and opens a function call item whose arguments stream as
//! `response.function_call_arguments.delta`. At the end every open item is closed (function
//! calls with `response.function_call_arguments.done`) and `response.completed` (or
//! `response.incomplete` when the output hit its limit) carries the whole response with
//! usage. Reasoning text has no place here and is dropped. `sequence_number` counts from 0.

use super::super::chat::{ChatChunk, ChatUsage, ToolCallDelta};
use super::super::responses::{
    OutputContent, OutputItem, ResponseObject, ResponsesEvent, ResponsesRequest,
};
use super::super::responses_translate::{
    chat_usage_to_responses, finish_response, function_call_item, function_item_id, message_item,
    message_item_id, response_id, response_shell,
};
use super::{chunk_error, is_done};

#[derive(Debug)]
struct OpenMessage {
    output_index: u32,
    text: String,
}

#[derive(Debug)]
struct OpenCall {
    chat_index: u32,
    output_index: u32,
    call_id: String,
    name: String,
    arguments: String,
    closed: bool,
}

/// The translator's state (see the module doc).
#[derive(Debug)]
pub struct ChatToResponses {
    response: ResponseObject,
    sequence: u64,
    started: bool,
    finished: bool,
    message: Option<OpenMessage>,
    calls: Vec<OpenCall>,
    /// Finished items by output index.
    items: Vec<(u32, OutputItem)>,
    next_output: u32,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
}

impl ChatToResponses {
    pub fn new(request: &ResponsesRequest) -> Self {
        ChatToResponses {
            response: response_shell(request, response_id(""), request.model.clone()),
            sequence: 0,
            started: false,
            finished: false,
            message: None,
            calls: Vec::new(),
            items: Vec::new(),
            next_output: 0,
            finish_reason: None,
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
            self.error("upstream_error", &message, out);
            return;
        }
        let Ok(chunk) = serde_json::from_slice::<ChatChunk>(data) else {
            return;
        };
        self.start(&chunk.id, &chunk.model, out);
        if let Some(choice) = chunk.choices.iter().find(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.as_deref().filter(|t| !t.is_empty()) {
                self.text(text, out);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                self.tool_call(call, out);
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = Some(reason.clone());
            }
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
    }

    /// Close every item and send `response.completed` (or `response.incomplete`).
    pub fn finish(&mut self, out: &mut String) {
        if self.finished {
            return;
        }
        self.start("", "", out);
        self.close_message(out);
        for at in 0..self.calls.len() {
            self.close_call(at, out);
        }
        self.items.sort_by_key(|(index, _)| *index);
        self.response.output = self.items.iter().map(|(_, item)| item.clone()).collect();
        finish_response(&mut self.response, self.finish_reason.as_deref());
        self.response.usage = self.usage.as_ref().map(chat_usage_to_responses);
        let response = Box::new(self.response.clone());
        let sequence_number = self.next_sequence();
        let event = if self.response.status == "incomplete" {
            ResponsesEvent::Incomplete {
                response,
                sequence_number,
            }
        } else {
            ResponsesEvent::Completed {
                response,
                sequence_number,
            }
        };
        out.push_str(&event.to_sse());
        self.finished = true;
    }

    /// An error after the first byte: an `error` event, and nothing more.
    pub fn error(&mut self, code: &str, message: &str, out: &mut String) {
        if self.finished {
            return;
        }
        let event = ResponsesEvent::Error {
            code: Some(code.to_owned()),
            message: message.to_owned(),
            param: None,
            sequence_number: self.next_sequence(),
        };
        out.push_str(&event.to_sse());
        self.finished = true;
    }

    fn next_sequence(&mut self) -> u64 {
        let n = self.sequence;
        self.sequence += 1;
        n
    }

    fn start(&mut self, chat_id: &str, model: &str, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        self.response.id = response_id(chat_id);
        if !model.is_empty() {
            self.response.model = model.to_owned();
        }
        let response = Box::new(self.response.clone());
        let sequence_number = self.next_sequence();
        out.push_str(
            &ResponsesEvent::Created {
                response: response.clone(),
                sequence_number,
            }
            .to_sse(),
        );
        let sequence_number = self.next_sequence();
        out.push_str(
            &ResponsesEvent::InProgress {
                response,
                sequence_number,
            }
            .to_sse(),
        );
    }

    fn text(&mut self, text: &str, out: &mut String) {
        let item_id = message_item_id(&self.response.id);
        if self.message.is_none() {
            let output_index = self.next_output;
            self.next_output += 1;
            self.message = Some(OpenMessage {
                output_index,
                text: String::new(),
            });
            let item = OutputItem::Message {
                id: item_id.clone(),
                status: "in_progress".to_owned(),
                role: "assistant".to_owned(),
                content: Vec::new(),
            };
            let sequence_number = self.next_sequence();
            let added = ResponsesEvent::OutputItemAdded {
                output_index,
                item,
                sequence_number,
            };
            out.push_str(&added.to_sse());
            let sequence_number = self.next_sequence();
            let part = ResponsesEvent::ContentPartAdded {
                item_id: item_id.clone(),
                output_index,
                content_index: 0,
                part: empty_text(),
                sequence_number,
            };
            out.push_str(&part.to_sse());
        }
        let sequence_number = self.next_sequence();
        let Some(message) = self.message.as_mut() else {
            return;
        };
        message.text.push_str(text);
        let delta = ResponsesEvent::OutputTextDelta {
            item_id,
            output_index: message.output_index,
            content_index: 0,
            delta: text.to_owned(),
            logprobs: Vec::new(),
            sequence_number,
        };
        out.push_str(&delta.to_sse());
    }

    fn close_message(&mut self, out: &mut String) {
        let Some(message) = self.message.take() else {
            return;
        };
        let item_id = message_item_id(&self.response.id);
        let output_index = message.output_index;
        let text = message.text;
        let sequence_number = self.next_sequence();
        let done = ResponsesEvent::OutputTextDone {
            item_id: item_id.clone(),
            output_index,
            content_index: 0,
            text: text.clone(),
            logprobs: Vec::new(),
            sequence_number,
        };
        out.push_str(&done.to_sse());
        let sequence_number = self.next_sequence();
        let part = ResponsesEvent::ContentPartDone {
            item_id,
            output_index,
            content_index: 0,
            part: OutputContent::OutputText {
                text: text.clone(),
                annotations: Vec::new(),
            },
            sequence_number,
        };
        out.push_str(&part.to_sse());
        let item = message_item(&self.response.id, text, "completed");
        self.item_done(output_index, item, out);
    }

    fn tool_call(&mut self, call: &ToolCallDelta, out: &mut String) {
        let at = match self.calls.iter().position(|c| c.chat_index == call.index) {
            Some(at) => at,
            None => self.open_call(call, out),
        };
        let arguments = call.function.as_ref().and_then(|f| f.arguments.as_deref());
        let Some(delta) = arguments.filter(|a| !a.is_empty()) else {
            return;
        };
        let sequence_number = self.next_sequence();
        let Some(open) = self.calls.get_mut(at) else {
            return;
        };
        open.arguments.push_str(delta);
        let event = ResponsesEvent::FunctionCallArgumentsDelta {
            item_id: function_item_id(&open.call_id),
            output_index: open.output_index,
            delta: delta.to_owned(),
            sequence_number,
        };
        out.push_str(&event.to_sse());
    }

    fn open_call(&mut self, call: &ToolCallDelta, out: &mut String) -> usize {
        self.close_message(out);
        let output_index = self.next_output;
        self.next_output += 1;
        let call_id = call
            .id
            .clone()
            .unwrap_or_else(|| format!("call_{}", call.index));
        let name = call
            .function
            .as_ref()
            .and_then(|f| f.name.clone())
            .unwrap_or_default();
        let item = function_call_item(&call_id, &name, String::new(), "in_progress");
        let sequence_number = self.next_sequence();
        let added = ResponsesEvent::OutputItemAdded {
            output_index,
            item,
            sequence_number,
        };
        out.push_str(&added.to_sse());
        self.calls.push(OpenCall {
            chat_index: call.index,
            output_index,
            call_id,
            name,
            arguments: String::new(),
            closed: false,
        });
        self.calls.len() - 1
    }

    fn close_call(&mut self, at: usize, out: &mut String) {
        let sequence_number = self.sequence;
        let Some(call) = self.calls.get_mut(at).filter(|c| !c.closed) else {
            return;
        };
        call.closed = true;
        let (output_index, call_id, name, arguments) = (
            call.output_index,
            call.call_id.clone(),
            call.name.clone(),
            call.arguments.clone(),
        );
        self.sequence = sequence_number + 1;
        let done = ResponsesEvent::FunctionCallArgumentsDone {
            item_id: function_item_id(&call_id),
            output_index,
            name: name.clone(),
            arguments: arguments.clone(),
            sequence_number,
        };
        out.push_str(&done.to_sse());
        let item = function_call_item(&call_id, &name, arguments, "completed");
        self.item_done(output_index, item, out);
    }

    fn item_done(&mut self, output_index: u32, item: OutputItem, out: &mut String) {
        let sequence_number = self.next_sequence();
        let done = ResponsesEvent::OutputItemDone {
            output_index,
            item: item.clone(),
            sequence_number,
        };
        out.push_str(&done.to_sse());
        self.items.push((output_index, item));
    }
}

fn empty_text() -> OutputContent {
    OutputContent::OutputText {
        text: String::new(),
        annotations: Vec::new(),
    }
}

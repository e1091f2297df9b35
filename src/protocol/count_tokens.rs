//! `POST /v1/messages/count_tokens`: an estimate of a Messages request's input tokens.
//!
//! The request is translated to chat and counted with the gateway's tokenizer estimate
//! (tiktoken's encodings, the message overhead OpenAI documents), tools included. Claude's own
//! tokenizer is not public, so the figure is an estimate for any model; images and documents
//! count as their text form, not as Anthropic bills them.

use serde_json::Value;

use super::anthropic::MessagesRequest;
use super::to_chat::messages_request_to_chat;
use super::TranslateError;
use crate::usage::tokens::estimate_prompt_tokens;

/// The estimated input tokens of `request`.
pub fn estimate_input_tokens(request: &MessagesRequest) -> Result<u64, TranslateError> {
    let mut chat = messages_request_to_chat(request)?;
    chat.stream = None;
    chat.stream_options = None;
    let body: Value = serde_json::to_value(&chat).map_err(|e| TranslateError(e.to_string()))?;
    Ok(estimate_prompt_tokens(&request.model, &body))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_estimate_counts_system_messages_and_tools() {
        let request = |value| serde_json::from_value::<MessagesRequest>(value).expect("request");
        let plain = request(
            json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello, world"}]}),
        );
        let with_system = request(
            json!({"model": "claude-sonnet-4-5", "system": "You are a helpful assistant.",
            "messages": [{"role": "user", "content": "Hello, world"}]}),
        );
        let plain_count = estimate_input_tokens(&plain).expect("count");
        // "Hello, world" is 3 tokens + 4 per message + 3 reply priming (cl100k/o200k).
        assert_eq!(plain_count, 10);
        let system_count = estimate_input_tokens(&with_system).expect("count");
        // "You are a helpful assistant." is 6 tokens + 4 for its message.
        assert_eq!(system_count, plain_count + 10);
    }
}

//! Token usage of an OpenAI Responses stream passed through: the final event
//! (`response.completed`, `response.incomplete` or `response.failed`) carries the whole response,
//! whose `usage` (`input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
//! `output_tokens_details.reasoning_tokens`) the tap reads as it reads a non-streamed body.
//! Never: parses an event that is not a final one (a substring check comes first).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::tap::{usage_from_body, Usage};

const FINAL_EVENTS: [&[u8]; 3] = [
    b"\"response.completed\"",
    b"\"response.incomplete\"",
    b"\"response.failed\"",
];

/// True for the event that ends a Responses stream.
pub fn is_final_event(data: &[u8]) -> bool {
    FINAL_EVENTS
        .iter()
        .any(|name| memchr::memmem::find(data, name).is_some())
}

/// The usage of a final Responses event; `None` for any other event.
pub fn usage_of_event(data: &[u8]) -> Option<Usage> {
    if !is_final_event(data) {
        return None;
    }
    #[derive(Deserialize)]
    struct Final<'a> {
        #[serde(borrow)]
        response: &'a RawValue,
    }
    let event: Final<'_> = serde_json::from_slice(data).ok()?;
    usage_from_body(event.response.get().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completed_event_gives_the_usage() {
        let done = br#"{"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":20},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":40},"total_tokens":123}}}"#;
        let usage = usage_of_event(done).expect("usage");
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
                usage.total_tokens
            ),
            (36, 20, 87, 40, 123)
        );
        let delta = br#"{"type":"response.output_text.delta","delta":"usage","sequence_number":3}"#;
        assert_eq!(usage_of_event(delta), None);
        assert!(!is_final_event(delta));
    }
}

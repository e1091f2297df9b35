//! Error bodies in each client API's shape, and the status → error type table.
//!
//! Anthropic: `{"type":"error","error":{"type":T,"message":M}}` with T decided by the HTTP
//! status: 400 `invalid_request_error`, 401 `authentication_error`, 403 `permission_error`,
//! 404 `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`, 503 and 529
//! `overloaded_error`, any other 5xx `api_error` (and any other 4xx `invalid_request_error`).
//! Responses: over HTTP the OpenAI error body (`{"error":{"message","type","param","code"}}`,
//! the gateway's own `ApiError`); in a stream an `error` event ([`responses_stream_error`]).

use serde_json::{json, Value};

use super::anthropic::{ErrorBody, StreamEvent};
use super::responses::ResponsesEvent;

/// The Anthropic error `type` for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

/// The Anthropic error body for `status` and `message`.
pub fn anthropic_error_body(status: u16, message: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": anthropic_error_type(status), "message": message},
    })
}

/// An in-stream Anthropic `error` event (a stream that broke after its first byte).
pub fn anthropic_stream_error(status: u16, message: &str) -> String {
    StreamEvent::Error {
        error: ErrorBody {
            kind: anthropic_error_type(status).to_owned(),
            message: message.to_owned(),
        },
    }
    .to_sse()
}

/// The message of an upstream error body in either shape (OpenAI `error.message`, Anthropic
/// `error.message`, a bare string `error`), else the body text cut to 500 characters.
pub fn upstream_error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .map(str::to_owned)
    });
    message.unwrap_or_else(|| {
        String::from_utf8_lossy(body)
            .chars()
            .take(500)
            .collect::<String>()
    })
}

/// An in-stream Responses `error` event.
pub fn responses_stream_error(code: &str, message: &str, sequence_number: u64) -> String {
    ResponsesEvent::Error {
        code: Some(code.to_owned()),
        message: message.to_owned(),
        param: None,
        sequence_number,
    }
    .to_sse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_to_anthropic_type() {
        let table = [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (409, "invalid_request_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (529, "overloaded_error"),
        ];
        for (status, kind) in table {
            assert_eq!(anthropic_error_type(status), kind, "{status}");
        }
    }

    #[test]
    fn bodies_and_events() {
        assert_eq!(
            anthropic_error_body(404, "no model matches claude-x"),
            json!({"type":"error","error":{"type":"not_found_error","message":"no model matches claude-x"}})
        );
        assert_eq!(
            anthropic_stream_error(529, "Overloaded"),
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        );
        assert_eq!(
            responses_stream_error("upstream_error", "broke", 7),
            "event: error\ndata: {\"type\":\"error\",\"code\":\"upstream_error\",\"message\":\"broke\",\"param\":null,\"sequence_number\":7}\n\n"
        );
    }

    #[test]
    fn upstream_messages_in_both_shapes() {
        let cases: [(&[u8], &str); 4] = [
            (
                br#"{"error":{"message":"Rate limit","type":"rate_limit"}}"#,
                "Rate limit",
            ),
            (
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                "Overloaded",
            ),
            (br#"{"error":"plain"}"#, "plain"),
            (b"Bad Gateway", "Bad Gateway"),
        ];
        for (body, message) in cases {
            assert_eq!(upstream_error_message(body), message);
        }
    }
}

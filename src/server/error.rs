//! `ApiError`: every error the gateway itself makes, and its one mapping to an HTTP status and
//! an OpenAI-shaped body `{"error":{"message","type","code","param"}}`.
//!
//! Handlers return `Result<_, ApiError>`; nothing else builds an error response. Messages say
//! what was wrong and what to do, and never carry a secret (callers pass redacted text).

use crate::proxy::request::clip_client_text;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::proxy::RouteError;

/// An error answered by the gateway (not relayed from an upstream).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, ...
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub param: Option<&'static str>,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, rounded up) when set.
    pub retry_after: Option<std::time::Duration>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    code: Option<&'a str>,
    param: Option<&'a str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        message: String,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            param: None,
            message,
            retry_after: None,
        }
    }

    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some(code),
            message.into(),
        )
    }

    /// 404 `model_not_found`: the query matched no usable model.
    pub fn model_not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            message.into(),
        )
        .with_param("model")
    }

    /// 404 for an unknown path.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("unknown_url"),
            format!(
                "Unrecognized request URL ({method} {}). See the README for the routes this gateway serves.",
                clip_client_text(path)
            ),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            Some("method_not_allowed"),
            format!("{method} is not allowed on {}", clip_client_text(path)),
        )
    }

    /// 401: no or wrong token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            Some("invalid_api_key"),
            message.into(),
        )
    }

    /// 403: a valid token without the right (an API token on an admin route).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            Some("insufficient_permissions"),
            message.into(),
        )
    }

    /// 413: the body is over `server.max_body_bytes`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            Some("request_too_large"),
            format!("Request body is larger than the gateway's limit of {limit} bytes (server.max_body_bytes)."),
        )
    }

    /// 408: the client did not finish sending its body in time.
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            Some("request_timeout"),
            message.into(),
        )
    }

    /// 429 `budget_exceeded`.
    pub fn budget_exceeded(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("budget_exceeded"),
            message.into(),
        )
    }

    /// 429 `rate_limit_exceeded`: a client key over its budget or rate; `Retry-After` says
    /// when it lifts.
    pub fn key_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("rate_limit_exceeded"),
            message.into(),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 503: nothing can serve right now (every candidate blacklisted or cooling down).
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Some(code),
            message.into(),
        )
    }

    /// 502: every attempt failed.
    pub fn upstream_failed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            Some("all_attempts_failed"),
            message.into(),
        )
    }

    /// 500: a bug or an I/O failure of the gateway itself.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            Some("internal_error"),
            message.into(),
        )
    }

    /// The JSON body, for places that write it themselves (SSE error events).
    pub fn body_json(&self) -> String {
        serde_json::to_string(&Body {
            error: Inner {
                message: &self.message,
                kind: self.kind,
                code: self.code,
                param: self.param,
            },
        })
        .unwrap_or_else(|_| {
            String::from(
                r#"{"error":{"message":"error","type":"server_error","code":null,"param":null}}"#,
            )
        })
    }
}

/// The client's error for a routed call that no upstream answered; the status is the one
/// [`RouteError::status`] decided (and the usage record carries).
impl From<RouteError> for ApiError {
    fn from(error: RouteError) -> Self {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let code = error.code();
        let (kind, param, retry_after) = match &error {
            RouteError::BadRequest { param, .. } => ("invalid_request_error", *param, None),
            RouteError::NoMatch { .. } => ("invalid_request_error", Some("model"), None),
            RouteError::BudgetExceeded { .. } => ("rate_limit_error", None, None),
            RouteError::NotAllowed { .. } => ("permission_error", Some("model"), None),
            RouteError::Unavailable { retry_after, .. } => ("server_error", None, *retry_after),
            RouteError::AllFailed { .. } => ("upstream_error", None, None),
        };
        let message = match error {
            RouteError::BadRequest { message, .. }
            | RouteError::NoMatch { message }
            | RouteError::BudgetExceeded { message }
            | RouteError::NotAllowed { message }
            | RouteError::AllFailed { message }
            | RouteError::Unavailable { message, .. } => message,
        };
        let mut api = Self::new(status, kind, Some(code), message);
        api.param = param;
        api.retry_after = retry_after;
        api
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body_json()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_openai_shape() {
        let error = ApiError::model_not_found("no model matches \"tag:nope\"");
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert_eq!(
            error.body_json(),
            r#"{"error":{"message":"no model matches \"tag:nope\"","type":"invalid_request_error","code":"model_not_found","param":"model"}}"#
        );
    }
}

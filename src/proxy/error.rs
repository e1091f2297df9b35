//! `RouteError`: every way a routed call ends without an answer from an upstream, and the one
//! place its HTTP status is decided. The call's usage record and the client's response both
//! take the status from [`RouteError::status`]; the serving layer turns the error into the
//! client's error body (`From<RouteError> for ApiError` in `server::error`). Messages say what
//! was wrong and what to do, and never carry a secret (callers pass redacted text).

use std::time::Duration;

/// Why a routed call was not served.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteError {
    /// 400: the request itself is wrong (`code` is the OpenAI error code; `param` the field).
    BadRequest {
        code: &'static str,
        param: Option<&'static str>,
        message: String,
    },
    /// 404 `model_not_found`: the query matched no usable model.
    NoMatch { message: String },
    /// 503: candidates exist but none can be tried now (blacklisted, cooling down, limited).
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 429: every candidate is a paid model over its budget.
    BudgetExceeded { message: String },
    /// 502: every attempt failed.
    AllFailed { message: String },
}

impl RouteError {
    /// A 400 `invalid_request_body` (or another code) about the client's body.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        RouteError::BadRequest {
            code,
            param: None,
            message: message.into(),
        }
    }

    /// The same error, blaming request field `name`.
    pub fn with_param(self, name: &'static str) -> Self {
        match self {
            RouteError::BadRequest { code, message, .. } => RouteError::BadRequest {
                code,
                param: Some(name),
                message,
            },
            other => other,
        }
    }

    /// The HTTP status of the answer and of the usage record.
    pub fn status(&self) -> u16 {
        match self {
            RouteError::BadRequest { .. } => 400,
            RouteError::NoMatch { .. } => 404,
            RouteError::BudgetExceeded { .. } => 429,
            RouteError::AllFailed { .. } => 502,
            RouteError::Unavailable { .. } => 503,
        }
    }

    /// The OpenAI-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            RouteError::BadRequest { code, .. } => code,
            RouteError::NoMatch { .. } => "model_not_found",
            RouteError::BudgetExceeded { .. } => "budget_exceeded",
            RouteError::AllFailed { .. } => "all_attempts_failed",
            RouteError::Unavailable { .. } => "no_available_channel",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            RouteError::BadRequest { message, .. }
            | RouteError::NoMatch { message }
            | RouteError::BudgetExceeded { message }
            | RouteError::AllFailed { message }
            | RouteError::Unavailable { message, .. } => message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_one_status_and_code() {
        let cases = [
            (
                RouteError::bad_request("invalid_json", "x"),
                400,
                "invalid_json",
            ),
            (
                RouteError::NoMatch {
                    message: "x".into(),
                },
                404,
                "model_not_found",
            ),
            (
                RouteError::BudgetExceeded {
                    message: "x".into(),
                },
                429,
                "budget_exceeded",
            ),
            (
                RouteError::AllFailed {
                    message: "x".into(),
                },
                502,
                "all_attempts_failed",
            ),
            (
                RouteError::Unavailable {
                    message: "x".into(),
                    retry_after: None,
                },
                503,
                "no_available_channel",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!((error.status(), error.code()), (status, code), "{error:?}");
        }
    }
}

//! What an upstream failure means for routing (docs/failover.md): one pure function from status,
//! headers and body to a [`Failure`], plus `Retry-After` and in-body wait hints.
//!
//! Classification reads the status first and the error message second, because real
//! providers put quota and key problems inside 400s and 403s. Rules decided here:
//! - 401 → invalid key. 403 → rate limit when the message speaks of rate/limit/too many,
//!   quota when it speaks of quota/balance/credit, else invalid key. 402 → quota.
//! - 429 → quota when the message speaks of quota/balance/credit/billing, else rate limit.
//! - 404 → model not found. 408 and 504 → timeout. Other 5xx → server error.
//! - 400/409/413/422 and other 4xx: quota, then invalid key, then model not found, then context
//!   length, then content policy, by message; otherwise the request's own fault.
//! - A 3xx is a bad response (API endpoints do not redirect; set `base_url` to the target).
//! - An `{"error": ...}` in a 2xx answer or a stream event: as a 400 with that body, but an
//!   unrecognised message is a bad response (fails over), not the request's fault.
//!
//! Word lists are lower-case substrings of the message (or, if none, of the body); the rate
//! words must start a word ("rate limit", "rate_limit_exceeded", "limited", but not
//! "generate" or "unlimited"), since a plain 403 must stay an invalid key.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    InvalidKey,
    QuotaExhausted,
    RateLimited {
        retry_after: Option<Duration>,
    },
    ModelNotFound,
    ContextLength,
    /// A refusal on content grounds: returned to the client, never failed over.
    ContentPolicy,
    /// The request's own fault: returned to the client as is.
    BadRequest,
    ServerError,
    Timeout,
    Connect,
    /// 2xx that is not what was asked for (HTML page, invalid JSON, redirect, cut stream).
    BadResponse,
    /// The gateway had no room to read the answer (`server.max_buffered_answer_bytes` in use
    /// by other requests): not the channel's fault, so no health effect and no alert.
    GatewayBusy,
}

impl Failure {
    /// The failure's name everywhere it is shown: logs, metrics, the attempt log, alerts
    /// (the one vocabulary; alert classes are a subset of these names).
    pub fn class(&self) -> &'static str {
        match self {
            Failure::InvalidKey => "invalid_api_key",
            Failure::QuotaExhausted => "quota_exhausted",
            Failure::RateLimited { .. } => "rate_limited",
            Failure::ModelNotFound => "model_not_found",
            Failure::ContextLength => "context_length",
            Failure::ContentPolicy => "content_policy",
            Failure::BadRequest => "bad_request",
            Failure::ServerError => "server_error",
            Failure::Timeout => "timeout",
            Failure::Connect => "connection",
            Failure::BadResponse => "bad_response",
            Failure::GatewayBusy => "gateway_busy",
        }
    }

    /// Whether the next candidate may be tried.
    pub fn fails_over(&self) -> bool {
        !matches!(self, Failure::BadRequest | Failure::ContentPolicy)
    }
}

const QUOTA: &[&str] = &[
    "quota",
    "balance",
    "credit",
    "billing",
    "payment required",
    "insufficient funds",
    "余额",
    "欠费",
];
const INVALID_KEY: &[&str] = &[
    "invalid api key",
    "invalid_api_key",
    "incorrect api key",
    "api key not valid",
    "invalid x-api-key",
    "invalid authentication",
    "authentication_error",
    "unauthorized",
    "invalid token",
    "api key is invalid",
    "no api key",
];
const RATE: &[&str] = &["rate", "limit", "too many requests"];
const MODEL_NOT_FOUND: &[&str] = &[
    "model_not_found",
    "model not found",
    "does not exist",
    "no such model",
    "unknown model",
    "not a valid model",
    "model is not available",
    "invalid model",
];
const CONTEXT: &[&str] = &[
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "too many tokens",
    "prompt is too long",
    "reduce the length",
    "input is too long",
];
const CONTENT_POLICY: &[&str] = &[
    "content_policy",
    "content policy",
    "content_filter",
    "content management policy",
    "responsible ai",
    "flagged",
    "safety system",
];

fn any(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack.contains(n))
}

/// Some needle occurs where a word starts (not after a letter or digit).
fn any_word_start(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| {
        haystack.match_indices(needle).any(|(at, _)| {
            !haystack[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        })
    })
}

/// The upstream's error message: `error.message`, `error` (string), `message`, `detail`, or
/// the body's first 300 characters.
pub fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let pick = |v: &serde_json::Value| v.as_str().map(str::to_string);
            v.get("error")
                .and_then(|e| e.get("message").and_then(pick).or_else(|| pick(e)))
                .or_else(|| v.get("message").and_then(pick))
                .or_else(|| v.get("detail").and_then(pick))
        });
    let message = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let trimmed: String = message.trim().chars().take(300).collect();
    trimmed.replace(|c: char| c.is_control(), " ")
}

/// Classify a non-2xx answer.
pub fn classify_status(status: u16, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Failure {
    let message = error_message(body).to_lowercase();
    let raw_lower;
    let text: &str = if message.is_empty() {
        raw_lower = String::from_utf8_lossy(body).to_lowercase();
        &raw_lower
    } else {
        &message
    };
    let retry_after = || {
        headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now))
            .or_else(|| wait_hint(text))
    };
    match status {
        300..=399 => Failure::BadResponse,
        401 => Failure::InvalidKey,
        402 => Failure::QuotaExhausted,
        403 if any_word_start(text, RATE) && !any(text, QUOTA) => Failure::RateLimited {
            retry_after: retry_after(),
        },
        403 if any(text, QUOTA) => Failure::QuotaExhausted,
        403 => Failure::InvalidKey,
        404 => Failure::ModelNotFound,
        408 | 504 => Failure::Timeout,
        429 if any(text, QUOTA) && !text.contains("rate limit") => Failure::QuotaExhausted,
        429 => Failure::RateLimited {
            retry_after: retry_after(),
        },
        500..=599 => Failure::ServerError,
        _ => classify_message(text),
    }
}

/// What an `{"error": ...}` inside a 2xx answer or a stream event means: classified like a
/// 400 with that body, except that an unrecognised message is the upstream's fault (a failed
/// answer, so the next candidate may be tried), not the request's.
pub fn classify_error_body(body: &[u8]) -> Failure {
    match classify_status(400, &HeaderMap::new(), body, SystemTime::now()) {
        Failure::BadRequest => Failure::BadResponse,
        failure => failure,
    }
}

/// A 4xx that is not one of the statuses with their own meaning: read the message.
fn classify_message(text: &str) -> Failure {
    if any(text, QUOTA) {
        Failure::QuotaExhausted
    } else if any(text, INVALID_KEY) {
        Failure::InvalidKey
    } else if any(text, MODEL_NOT_FOUND) {
        Failure::ModelNotFound
    } else if any(text, CONTEXT) {
        Failure::ContextLength
    } else if any(text, CONTENT_POLICY) {
        Failure::ContentPolicy
    } else {
        Failure::BadRequest
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (docs/failover.md). Capped at one day.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let cap = Duration::from_secs(24 * 3600);
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(cap.as_secs_f64())));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(cap))
}

/// A wait hint inside an error message: "try again in 20 seconds", "retry after 1.5s",
/// "Please try again in 1m30s", "try again in 250ms". Capped at one day.
pub fn wait_hint(message: &str) -> Option<Duration> {
    let lower = message.to_lowercase();
    let at = [
        "try again in",
        "retry after",
        "retry in",
        "try again after",
        "wait",
    ]
    .iter()
    .filter_map(|p| lower.find(p).map(|i| i + p.len()))
    .min()?;
    let rest = lower[at..].trim_start();
    let mut total = 0.0f64;
    let mut found = false;
    let mut chars = rest;
    loop {
        let digits = chars
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(chars.len());
        if digits == 0 {
            break;
        }
        let Ok(number) = chars[..digits].parse::<f64>() else {
            break;
        };
        let after = chars[digits..].trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let factor = match &after[..unit_len] {
            "ms" | "millisecond" | "milliseconds" => 0.001,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            _ => break,
        };
        total += number * factor;
        found = true;
        chars = &after[unit_len..];
    }
    (found && total.is_finite()).then(|| Duration::from_secs_f64(total.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn classify(status: u16, body: &str) -> Failure {
        classify_status(
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn err(message: &str) -> String {
        serde_json::json!({"error": {"message": message, "type": "x"}}).to_string()
    }

    #[test]
    fn statuses_and_messages() {
        assert_eq!(
            classify(401, &err("Incorrect API key provided")),
            Failure::InvalidKey
        );
        assert_eq!(classify(403, &err("Forbidden")), Failure::InvalidKey);
        assert_eq!(
            classify(403, &err("You are not allowed to generate embeddings")),
            Failure::InvalidKey
        );
        assert_eq!(
            classify(
                403,
                &err("Key has unlimited scope but this project is disabled")
            ),
            Failure::InvalidKey
        );
        assert_eq!(
            classify(403, &err("rate_limit_exceeded: slow down")),
            Failure::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(
                403,
                &err("Your organization is limited to 3 requests per minute")
            ),
            Failure::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &err("Rate limit exceeded for this key")),
            Failure::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(403, &err("Your credit balance is too low")),
            Failure::QuotaExhausted
        );
        assert_eq!(classify(402, "{}"), Failure::QuotaExhausted);
        assert_eq!(
            classify(
                429,
                &err(
                    "You exceeded your current quota, please check your plan and billing details."
                )
            ),
            Failure::QuotaExhausted
        );
        assert_eq!(
            classify(429, &err("Rate limit reached for requests")),
            Failure::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(404, &err("The model `gpt-9` does not exist")),
            Failure::ModelNotFound
        );
        assert_eq!(classify(500, "oops"), Failure::ServerError);
        assert_eq!(
            classify(503, "<html>Service Unavailable</html>"),
            Failure::ServerError
        );
        assert_eq!(classify(504, ""), Failure::Timeout);
        assert_eq!(classify(302, ""), Failure::BadResponse);
    }

    #[test]
    fn quota_and_keys_inside_400s() {
        assert_eq!(
            classify(400, &err("Insufficient balance, please top up")),
            Failure::QuotaExhausted
        );
        assert_eq!(
            classify(400, &err("API key not valid. Please pass a valid API key.")),
            Failure::InvalidKey
        );
        assert_eq!(
            classify(
                400,
                &err("This model's maximum context length is 8192 tokens")
            ),
            Failure::ContextLength
        );
        assert_eq!(
            classify(
                400,
                r#"{"error":{"code":"content_policy_violation","message":"Your request was rejected as a result of our safety system."}}"#
            ),
            Failure::ContentPolicy
        );
        assert_eq!(
            classify(400, &err("'messages' is a required property")),
            Failure::BadRequest
        );
        assert_eq!(
            classify(422, &err("temperature must be <= 2")),
            Failure::BadRequest
        );
        assert!(!Failure::ContentPolicy.fails_over());
        assert!(!Failure::BadRequest.fails_over());
        assert!(Failure::ContextLength.fails_over());
    }

    #[test]
    fn retry_after_seconds_dates_and_hints() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("20", now), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(
            wait_hint("Rate limit reached. Please try again in 20 seconds."),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            wait_hint("Please try again in 1m30s."),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            wait_hint("try again in 250ms"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            wait_hint("retry after 7.5s"),
            Some(Duration::from_millis(7500))
        );
        assert_eq!(wait_hint("slow down"), None);

        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("12"));
        assert_eq!(
            classify_status(429, &headers, err("slow down").as_bytes(), now),
            Failure::RateLimited {
                retry_after: Some(Duration::from_secs(12))
            }
        );
        assert_eq!(
            classify_status(
                429,
                &HeaderMap::new(),
                err("Rate limited; try again in 3 seconds").as_bytes(),
                now
            ),
            Failure::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
    }

    #[test]
    fn error_messages_are_extracted_and_cleaned() {
        assert_eq!(
            error_message(err("bad key\nsk-1").as_bytes()),
            "bad key sk-1"
        );
        assert_eq!(error_message(br#"{"error":"plain"}"#), "plain");
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            error_message(b"<html>502 Bad Gateway</html>"),
            "<html>502 Bad Gateway</html>"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(status in 300u16..600, body in "\\PC{0,200}", hint in "\\PC{0,60}") {
            let _ = classify(status, &body);
            let _ = wait_hint(&hint);
            let _ = parse_retry_after(&hint, SystemTime::UNIX_EPOCH);
        }
    }
}

//! The history row: one routed call as the API returns it and the database stores it, and how
//! it is built from the finished usage record and the call's [`CallDetails`] (redaction and
//! truncation of bodies happen here, on the writer thread, never on the request path).

use serde::{Deserialize, Serialize};

use super::known_secrets::KnownSecrets;
use super::search_text::push_searchable;
use super::shorten::{shorten, Json};
use super::{AttemptLog, CallDetails};
use crate::scoring::SubScore;
use crate::upstream::redact::redact_secrets;
use crate::usage::cost::push_fixed;
use crate::usage::details::RoutePlan;
use crate::usage::record::{CallStatus, UsageRecord};
use std::borrow::Cow;
use std::sync::Arc;

/// One stored call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub id: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// Unix milliseconds of `timestamp`.
    pub time_ms: i64,
    /// The API the client spoke, as the usage record names it: `openai_chat`,
    /// `openai_completion`, `openai_embedding`, `anthropic_messages`, `openai_responses`.
    pub request_format: String,
    pub app: Option<String>,
    pub key_name: Option<String>,
    /// The client's `model` string.
    pub query: String,
    pub strategy: String,
    pub model: String,
    pub channel_id: String,
    pub channel_name: String,
    pub provider: String,
    /// `ok`, `error` or `cancelled`.
    pub status: String,
    pub http_status: u16,
    pub stream: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub input_cost: f64,
    pub output_cost: f64,
    pub total_cost: f64,
    pub cost_currency: String,
    pub cost_known: bool,
    pub usage_estimated: bool,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub error: Option<String>,
    pub attempts: Vec<AttemptLog>,
    pub route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

/// The word the history uses for a call's outcome.
pub fn status_word(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Success => "ok",
        CallStatus::Error => "error",
        CallStatus::Cancelled => "cancelled",
    }
}

/// What the writer does to bodies.
#[derive(Debug, Clone)]
pub struct BodyPolicy {
    pub capture: bool,
    pub max_bytes: usize,
    /// The gateway's own secrets, taken out of bodies, the app and the query whatever their
    /// shape.
    pub secrets: Arc<KnownSecrets>,
}

impl HistoryRow {
    /// The row of a finished record. Bodies are redacted and cut per `policy`. Takes the
    /// record and the details by value: their strings move into the row, not copied.
    pub fn build(record: UsageRecord, details: Option<CallDetails>, policy: &BodyPolicy) -> Self {
        let body = |b: Option<bytes::Bytes>| {
            b.filter(|_| policy.capture)
                .map(|b| stored_body(&b, policy.max_bytes, &policy.secrets))
        };
        let time_ms = chrono::DateTime::parse_from_rfc3339(&record.timestamp)
            .map(|t| t.timestamp_millis())
            .unwrap_or_else(|_| chrono::Utc::now().timestamp_millis());
        let details = details.unwrap_or_default();
        Self {
            id: record.request_id,
            timestamp: record.timestamp,
            time_ms,
            request_format: record.request_format,
            app: details.client_app.map(|app| redacted(app, &policy.secrets)),
            key_name: record.key_name,
            query: redacted(record.query, &policy.secrets),
            strategy: record.strategy,
            model: record.model,
            channel_id: record.channel_id,
            channel_name: record.channel_name,
            provider: record.provider,
            status: status_word(record.status).to_string(),
            http_status: record.http_status,
            stream: record.stream,
            input_tokens: record.input_tokens,
            output_tokens: record.output_tokens,
            total_tokens: record.total_tokens,
            cached_tokens: record.cached_tokens,
            reasoning_tokens: record.reasoning_tokens,
            input_cost: record.input_cost,
            output_cost: record.output_cost,
            total_cost: record.total_cost,
            cost_currency: record.cost_currency,
            cost_known: record.cost_known,
            usage_estimated: record.usage_estimated,
            latency_ms: record.response_time_ms,
            ttft_ms: record.ttft_ms,
            error: record.error_message,
            attempts: details.attempts,
            route: details.route.as_ref().map(route_text),
            request_body: body(details.request_body),
            response_body: body(details.response_body),
        }
    }

    /// The text full-text search reads: content (the string values of a JSON body, see
    /// [`super::search_text`]; with `bodies` only), model, errors (the call's and each
    /// attempt's) and app.
    pub fn search_text(&self, bodies: bool) -> String {
        let mut text = String::new();
        for message in self.attempts.iter().filter_map(|a| a.message.as_deref()) {
            text.push_str(message);
            text.push('\n');
        }
        for part in [
            Some(self.query.as_str()),
            Some(self.model.as_str()),
            Some(self.channel_id.as_str()),
            self.app.as_deref(),
            self.error.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            text.push_str(part);
            text.push('\n');
        }
        for body in [self.request_body.as_deref(), self.response_body.as_deref()]
            .into_iter()
            .flatten()
            .filter(|_| bodies)
        {
            let (head, cut) = uncut(body);
            push_searchable(head, cut, &mut text);
        }
        text
    }
}

/// The route explanation: one candidate per line, `channel/model score (sub-score=value ...)`.
pub fn route_text(plan: &RoutePlan) -> String {
    let mut text = String::with_capacity(96 * plan.top.len());
    for c in &plan.top {
        text.push_str(&c.candidate);
        text.push(' ');
        push_fixed(&mut text, c.score, 4);
        text.push_str(" (");
        for (n, (sub, value)) in SubScore::ALL.iter().zip(c.sub_scores).enumerate() {
            if n > 0 {
                text.push(' ');
            }
            text.push_str(sub.field());
            text.push('=');
            push_fixed(&mut text, value, 2);
        }
        text.push_str(")\n");
    }
    if plan.ranked > plan.top.len() {
        text.push_str(&format!("… and {} more\n", plan.ranked - plan.top.len()));
    }
    text
}

/// What [`cut_at`] appends to a body it cut, before the count of bytes cut.
const CUT_MARK: &str = "…[truncated ";

/// A stored body without the marker [`cut_at`] appends when it cuts one, and whether it
/// was cut.
pub fn uncut(stored: &str) -> (&str, bool) {
    match stored.rfind(CUT_MARK) {
        Some(at) if stored.ends_with(" bytes]") => (&stored[..at], true),
        _ => (stored, false),
    }
}

/// A body as stored: lossy UTF-8, secrets redacted, and when it is longer than `max_bytes`
/// either shortened so that it stays JSON ([`shorten`]) or cut at `max_bytes` with a marker.
/// Secrets are redacted before anything is cut, so no cut leaves a piece of one too short to
/// be recognised.
pub fn stored_body(body: &[u8], max_bytes: usize, secrets: &KnownSecrets) -> String {
    // Past what is shortened, only the head that is kept is read, and a margin after it so
    // that a secret the cut falls in is still recognised: an 8 MB answer costs the writer
    // what a 64 KB one does, and its bytes are let go as soon.
    let shortened_up_to = max_bytes.saturating_mul(SHORTEN_UP_TO);
    let read = if body.len() > shortened_up_to {
        &body[..max_bytes.saturating_add(CUT_MARGIN).min(body.len())]
    } else {
        body
    };
    let unread = body.len() - read.len();
    // `from_utf8` checks ASCII a word at a time; the lossy decoder goes a character at a time.
    let decoded = match std::str::from_utf8(read) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(read),
    };
    let redacted = redact_all(&decoded, secrets);
    if unread == 0 && redacted.len() <= max_bytes {
        return redacted.into_owned();
    }
    if unread == 0 {
        if let Some(short) = serde_json::from_str::<Json>(&redacted)
            .ok()
            .and_then(|json| shorten(&json, max_bytes))
        {
            return short;
        }
    }
    cut_after(&redacted, max_bytes, unread)
}

/// `text` without secrets of a known shape ([`redact_secrets`]) or of the gateway's own
/// ([`KnownSecrets`]); copied only when one is found.
fn redact_all<'a>(text: &'a str, secrets: &KnownSecrets) -> Cow<'a, str> {
    match redact_secrets(text) {
        Cow::Borrowed(text) => secrets.redact(text),
        Cow::Owned(text) => match secrets.redact(&text) {
            Cow::Borrowed(_) => Cow::Owned(text),
            Cow::Owned(clean) => Cow::Owned(clean),
        },
    }
}

/// [`redact_all`] of an owned text (an app name, a query).
fn redacted(text: String, secrets: &KnownSecrets) -> String {
    match redact_all(&text, secrets) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// `text` cut at `max_bytes` (on a character boundary) with the marker [`uncut`] recognises.
pub fn cut_at(text: &str, max_bytes: usize) -> String {
    cut_after(text, max_bytes, 0)
}

/// [`cut_at`] of the head of a body of which `unread` more bytes were not even read.
fn cut_after(text: &str, max_bytes: usize, unread: usize) -> String {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + CUT_MARK.len() + 16);
    cut.push_str(&text[..end]);
    cut.push_str(&format!("{CUT_MARK}{} bytes]", text.len() - end + unread));
    cut
}

/// Bytes read past `max_body_bytes` of a body too long to shorten, so that a secret the cut
/// falls in is redacted whole (no key is this long).
const CUT_MARGIN: usize = 512;

/// A JSON body longer than this many times `max_body_bytes` is cut, not shortened (the
/// writer parses what it shortens; this bounds that work).
const SHORTEN_UP_TO: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_redacted_and_cut_with_a_marker() {
        let body = br#"{"api_key":"sk-abcdefghijklmnop1234","messages":"hello"}"#;
        assert_eq!(
            stored_body(body, 1000, &KnownSecrets::default()),
            r#"{"api_key":"[REDACTED]","messages":"hello"}"#
        );
        assert_eq!(
            stored_body(b"abcdef", 4, &KnownSecrets::default()),
            "abcd…[truncated 2 bytes]"
        );
        // A cut inside a 3-byte character keeps only whole characters.
        let text = "量子计算".as_bytes();
        assert_eq!(
            stored_body(text, 4, &KnownSecrets::default()),
            "量…[truncated 9 bytes]"
        );
    }

    #[test]
    fn a_huge_body_is_cut_from_its_head_and_a_key_the_cut_falls_in_is_still_redacted() {
        let secret = "sk-abcdefghijklmnopqrstuvwxyz012345";
        let mut body = "a".repeat(90);
        body.push(' ');
        body.push_str(secret);
        body.push(' ');
        body.push_str(&"b".repeat(8 << 20));
        // 100 bytes kept: the cut falls inside the key, 32 × 100 is far below the body.
        let stored = stored_body(body.as_bytes(), 100, &KnownSecrets::default());
        let kept = format!(
            "{} [REDACTED] bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "a".repeat(90)
        );
        assert_eq!(
            stored,
            format!(
                "{}…[truncated {} bytes]",
                &kept[..100],
                body.len() - secret.len() + "[REDACTED]".len() - 100
            )
        );
        assert!(!stored.contains("sk-abc"));
    }

    #[test]
    fn a_cut_json_body_is_searched_by_its_text_up_to_the_cut() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"\u91cf\u5b50\u8ba1\u7b97 explained at length"}]}"#;
        let details = CallDetails {
            request_body: Some(bytes::Bytes::from_static(body)),
            ..CallDetails::default()
        };
        let cut_at_length = BodyPolicy {
            capture: true,
            max_bytes: body.len() - 20,
            secrets: Default::default(),
        };
        let row = HistoryRow::build(UsageRecord::default(), Some(details), &cut_at_length);
        let stored = row.request_body.as_deref().unwrap_or_default();
        assert!(stored.ends_with("…[truncated 20 bytes]"), "{stored}");
        assert!(uncut(stored).1);
        assert_eq!(uncut("whole"), ("whole", false));
        let text = row.search_text(true);
        assert!(text.ends_with("\n量子计算 exp\n"), "{text:?}");
        assert!(!row.search_text(false).contains("量子"));
        assert!(
            !text.contains("truncated") && !text.contains("messages"),
            "{text}"
        );
    }

    #[test]
    fn a_row_keeps_no_body_when_capture_is_off() {
        let record = UsageRecord {
            timestamp: "2026-11-21T12:30:45.123Z".into(),
            request_id: "req_1".into(),
            status: CallStatus::Error,
            ..UsageRecord::default()
        };
        let details = CallDetails {
            client_app: Some("my-app".into()),
            request_body: Some(bytes::Bytes::from_static(b"{}")),
            ..CallDetails::default()
        };
        let off = BodyPolicy {
            capture: false,
            max_bytes: 10,
            secrets: Default::default(),
        };
        let row = HistoryRow::build(record, Some(details), &off);
        assert_eq!(row.request_body, None);
        assert_eq!(row.app.as_deref(), Some("my-app"));
        assert_eq!(row.status, "error");
        assert_eq!(row.time_ms, 1_795_264_245_123);
    }
}

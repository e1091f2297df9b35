//! The usage record: one line of `logs/usage_YYYYMMDD.jsonl` per routed call (docs/usage-records.md).
//!
//! This module owns the record's shape and nothing else. Field names are the contract that
//! the stats API and users' own tooling read back; never rename one. It must never hold a
//! secret: no API key, no client token, no request or response body.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How a routed call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// The upstream answered 2xx and (for streams) the stream completed.
    Success,
    /// Every attempt failed, or the stream broke after its first byte.
    Error,
    /// The client went away before the call completed.
    Cancelled,
}

/// One routed call, as written to the daily JSONL log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-21T12:30:45.123Z`.
    pub timestamp: String,
    pub request_id: String,
    /// The client's `model` string, verbatim.
    pub query: String,
    /// The model id the upstream was asked for (empty when no candidate was tried).
    pub model: String,
    pub channel_id: String,
    pub channel_name: String,
    pub provider: String,
    pub strategy: String,
    pub attempts: u32,
    pub stream: bool,
    pub status: CallStatus,
    pub http_status: u16,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub input_cost: f64,
    pub output_cost: f64,
    pub total_cost: f64,
    pub cost_currency: String,
    pub usage_estimated: bool,
    pub cost_known: bool,
    /// `chat`, `completion` or `embedding`.
    pub request_type: String,
    pub response_time_ms: u64,
    pub ttft_ms: Option<u64>,
    pub tags: Vec<String>,
    pub error_message: Option<String>,
    /// The name of the client key (`auth.keys`) the call came with; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Input tokens written to the provider's prompt cache (Anthropic cache creation); a part
    /// of `input_tokens`, priced at the cache-write price.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Audio input tokens; a part of `input_tokens`.
    #[serde(default)]
    pub audio_input_tokens: u64,
    /// Audio output tokens; a part of `output_tokens`.
    #[serde(default)]
    pub audio_output_tokens: u64,
    /// True when the call read or wrote the prompt cache and no source (config, discovery,
    /// knowledge base) knows that cache price: those tokens were charged at the input price.
    #[serde(default)]
    pub cache_price_unknown: bool,
    /// The API the client spoke: `openai_chat`, `openai_completion`, `openai_embedding`,
    /// `anthropic_messages` or `openai_responses` (empty in records older than the field).
    #[serde(default)]
    pub request_format: String,
    /// The wire format of the channel that answered: `openai` or `anthropic` (empty when no
    /// channel was tried, and in records older than the field).
    #[serde(default)]
    pub channel_format: String,
}

/// A record before its call is filled in, for building one field by field
/// (`..UsageRecord::default()`): no tokens and no cost yet (the writer derives both from the
/// call's usage and price), USD, one successful OpenAI chat attempt answered 200 by an OpenAI
/// format channel; names, times and tags empty.
impl Default for UsageRecord {
    fn default() -> Self {
        Self {
            timestamp: String::new(),
            request_id: String::new(),
            query: String::new(),
            model: String::new(),
            channel_id: String::new(),
            channel_name: String::new(),
            provider: String::new(),
            strategy: String::new(),
            attempts: 1,
            stream: false,
            status: CallStatus::Success,
            http_status: 200,
            input_tokens: 0,
            output_tokens: 0,
            total_tokens: 0,
            cached_tokens: 0,
            reasoning_tokens: 0,
            input_cost: 0.0,
            output_cost: 0.0,
            total_cost: 0.0,
            cost_currency: "USD".into(),
            usage_estimated: false,
            cost_known: true,
            request_type: "chat".into(),
            response_time_ms: 0,
            ttft_ms: None,
            tags: Vec::new(),
            error_message: None,
            key_name: None,
            cache_write_tokens: 0,
            audio_input_tokens: 0,
            audio_output_tokens: 0,
            cache_price_unknown: false,
            request_format: "openai_chat".into(),
            channel_format: "openai".into(),
        }
    }
}

/// The UTC date of an RFC 3339 timestamp. `...Z` and `...+00:00` take a fast path that reads
/// only the date; other offsets are parsed in full and converted.
pub fn utc_date_of(timestamp: &str) -> Option<NaiveDate> {
    let b = timestamp.as_bytes();
    let is_utc = timestamp.ends_with(['Z', 'z']) || timestamp.ends_with("+00:00");
    if is_utc && b.len() > 10 && matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        return NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d);
    }
    DateTime::parse_from_rfc3339(timestamp)
        .ok()
        .map(|t| t.with_timezone(&Utc).date_naive())
}

/// The decimal number in `b[start..start + len]`, all ASCII digits.
fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let slice = b.get(start..start + len)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

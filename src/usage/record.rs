//! The usage record: one line of `logs/usage_YYYYMMDD.jsonl` per routed call (SPEC §9).
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
}

/// A record before its call is filled in, for building one field by field
/// (`..UsageRecord::default()`): no tokens and no cost yet (the writer derives both from the
/// call's usage and price), USD, one successful chat attempt answered 200; names, times and
/// tags empty.
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

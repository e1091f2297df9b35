//! The usage record: one line of `logs/usage_YYYYMMDD.jsonl` per routed call (SPEC §9).
//!
//! This module owns the record's shape and nothing else. Field names are the contract that
//! the stats API and users' own tooling read back; never rename one. It must never hold a
//! secret: no API key, no client token, no request or response body.

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

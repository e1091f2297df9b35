//! What a routed call leaves beside its usage record for the request history: the client app,
//! the API key's name, the bodies, every attempt and the route. The usage writer carries it
//! (`PendingUsage::details`) and hands it on with the finished record; the history writer
//! redacts, cuts and stores it. Built on the request path with no copying (bodies are shared
//! `Bytes`); never logged.

use serde::{Deserialize, Serialize};

/// One attempt of a call, in the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub channel: String,
    pub model: String,
    /// The upstream's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// `success`, or the failure class (`rate_limited`, `server_error`, `timeout`...).
    pub error_class: String,
    pub duration_ms: u64,
    /// What went wrong (redacted), for a failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a call leaves for its history row beside the usage record; built on the request path
/// with as little work as possible (the writer redacts and truncates).
#[derive(Debug, Clone, Default)]
pub struct CallDetails {
    /// `X-Title`, else `HTTP-Referer`, else `User-Agent`.
    pub client_app: Option<String>,
    /// The client's request body as it sent it; `None` when bodies are not captured.
    pub request_body: Option<bytes::Bytes>,
    /// The answer: the upstream's body, or for a stream its reassembled text and tool-call
    /// arguments; `None` when bodies are not captured.
    pub response_body: Option<bytes::Bytes>,
    pub attempts: Vec<AttemptLog>,
    /// The first ranked candidates, for the route explanation (formatted by the history
    /// writer, off the request path).
    pub route: Option<RoutePlan>,
}

/// The head of a call's ranking: shared names and numbers only, so keeping it costs the request
/// path a few reference-count increments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutePlan {
    pub top: Vec<RouteCandidate>,
    /// Candidates ranked in all (`top` is the first of them).
    pub ranked: usize,
}

/// One ranked candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCandidate {
    /// `channel/model`.
    pub candidate: std::sync::Arc<str>,
    pub score: f64,
    /// In the order of `scoring::SubScore::ALL`.
    pub sub_scores: [f64; 8],
}

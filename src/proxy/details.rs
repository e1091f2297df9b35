//! The call's contribution to its request-history row ([`CallDetails`]): the client app, the
//! attempts as they happen, the ranked candidates, and the bodies. Kept beside the call and
//! handed to the usage record when it is built; the history writer redacts and truncates.
//!
//! With `history.enabled: false` the draft is empty and every method returns at once; with
//! `capture_bodies: false` no body is kept. Nothing here copies a body: `Bytes` are shared.

use std::sync::Mutex;

use axum::http::HeaderMap;
use bytes::Bytes;
use tokio::time::Instant;

use crate::catalog::{Catalog, CatalogEntry};
use crate::config::HistoryConfig;
use crate::history::{AttemptLog, CallDetails};
use crate::scoring::strategy::SubScore;
use crate::scoring::Ranked;

/// Candidates kept in the route explanation.
const ROUTE_LINES: usize = 5;
/// Longest client app name kept.
const APP_CHARS: usize = 200;

/// What a call has gathered for its history row so far.
#[derive(Debug, Default)]
pub struct DetailsDraft {
    inner: Option<Mutex<Draft>>,
}

#[derive(Debug)]
struct Draft {
    details: CallDetails,
    capture_bodies: bool,
    /// When the last attempt ended (or the call started): the next attempt's start.
    mark: Instant,
}

impl DetailsDraft {
    /// The draft of a call just ranked.
    pub fn start(
        history: &HistoryConfig,
        headers: &HeaderMap,
        catalog: &Catalog,
        ranked: &[Ranked],
        started: Instant,
    ) -> Self {
        if !history.enabled {
            return Self::default();
        }
        let details = CallDetails {
            client_app: client_app(headers),
            route: Some(route_explanation(catalog, ranked)),
            ..CallDetails::default()
        };
        Self {
            inner: Some(Mutex::new(Draft {
                details,
                capture_bodies: history.capture_bodies,
                mark: started,
            })),
        }
    }

    /// An attempt on `entry` ended: `class` is `success` or the failure class; `message`
    /// (already redacted) says what went wrong.
    pub fn attempt(
        &self,
        entry: &CatalogEntry,
        class: &str,
        http_status: Option<u16>,
        message: Option<&str>,
    ) {
        let Some(inner) = &self.inner else {
            return;
        };
        let mut draft = inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let duration_ms = now.saturating_duration_since(draft.mark).as_millis() as u64;
        draft.mark = now;
        let http_status = http_status.or_else(|| message.and_then(status_in));
        draft.details.attempts.push(AttemptLog {
            channel: entry.channel.id.clone(),
            model: entry.model_id.clone(),
            http_status,
            error_class: class.to_string(),
            duration_ms,
            message: message.map(str::to_string),
        });
    }

    /// The details for the usage record: `answer` is the upstream's body, else `text` (a
    /// stream's reassembled text and tool-call arguments) is kept.
    pub fn finish(
        &self,
        request_body: &Bytes,
        answer: Option<Bytes>,
        text: &str,
    ) -> Option<Box<CallDetails>> {
        let inner = self.inner.as_ref()?;
        let draft = inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut details = draft.details.clone();
        if draft.capture_bodies {
            details.request_body = Some(request_body.clone());
            details.response_body = answer
                .or_else(|| (!text.is_empty()).then(|| Bytes::copy_from_slice(text.as_bytes())));
        }
        Some(Box::new(details))
    }
}

/// `X-Title`, else `HTTP-Referer`, else `User-Agent`.
fn client_app(headers: &HeaderMap) -> Option<String> {
    ["x-title", "http-referer", "user-agent"]
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .find(|v| !v.is_empty())
        .map(|v| v.chars().take(APP_CHARS).collect())
}

/// `HTTP 429: ...` → 429.
fn status_in(message: &str) -> Option<u16> {
    let rest = message.strip_prefix("HTTP ")?;
    rest.get(..3)?.parse().ok()
}

/// The first candidates, one per line: `channel/model score (sub-score=value ...)`.
fn route_explanation(catalog: &Catalog, ranked: &[Ranked]) -> String {
    let mut text = String::new();
    for candidate in ranked.iter().take(ROUTE_LINES) {
        let Some(entry) = catalog.entry(candidate.entry) else {
            continue;
        };
        text.push_str(&format!(
            "{}/{} {:.4} (",
            entry.channel.id, entry.model_id, candidate.score
        ));
        for (i, sub) in SubScore::ALL.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(&format!("{}={:.2}", sub.field(), candidate.sub_scores[i]));
        }
        text.push_str(")\n");
    }
    if ranked.len() > ROUTE_LINES {
        text.push_str(&format!("… and {} more\n", ranked.len() - ROUTE_LINES));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_is_the_title_else_the_referer_else_the_user_agent() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_app(&headers), None);
        headers.insert("user-agent", "curl/8".parse().expect("value"));
        assert_eq!(client_app(&headers).as_deref(), Some("curl/8"));
        headers.insert(
            "http-referer",
            "https://app.example".parse().expect("value"),
        );
        assert_eq!(client_app(&headers).as_deref(), Some("https://app.example"));
        headers.insert("x-title", "My App".parse().expect("value"));
        assert_eq!(client_app(&headers).as_deref(), Some("My App"));
    }

    #[test]
    fn a_status_is_read_from_the_attempt_message() {
        assert_eq!(status_in("HTTP 429: slow down"), Some(429));
        assert_eq!(status_in("timed out after 5s"), None);
    }
}

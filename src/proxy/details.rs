//! The call's contribution to its request-history row ([`CallDetails`]): the client app and
//! the ranked candidates (noted when the call context is made), then the attempts and the
//! bodies (when its record is built). The history writer redacts and truncates, off the
//! request path.
//!
//! With `history.enabled: false` the draft is empty and `finish` returns `None` at once; with
//! `capture_bodies: false` no body is kept. A whole body is shared (`Bytes`), not copied; a
//! stream's text is copied once.

use axum::http::HeaderMap;
use bytes::Bytes;

use crate::catalog::Catalog;
use crate::config::HistoryConfig;
use crate::scoring::Ranked;
use crate::usage::details::{AttemptLog, CallDetails, RouteCandidate, RoutePlan};

/// Candidates kept in the route explanation.
const ROUTE_LINES: usize = 5;
/// Longest client app name kept.
const APP_CHARS: usize = 200;

/// What a call keeps for its history row besides its attempt log (which the call context
/// keeps anyway).
#[derive(Debug, Default)]
pub struct DetailsDraft {
    inner: Option<Draft>,
}

#[derive(Debug)]
struct Draft {
    client_app: Option<String>,
    route: RoutePlan,
    capture_bodies: bool,
}

impl DetailsDraft {
    /// The draft of a call just ranked.
    pub fn start(
        history: &HistoryConfig,
        headers: &HeaderMap,
        catalog: &Catalog,
        ranked: &[Ranked],
    ) -> Self {
        if !history.enabled {
            return Self::default();
        }
        Self {
            inner: Some(Draft {
                client_app: client_app(headers),
                route: route_plan(catalog, ranked),
                capture_bodies: history.capture_bodies,
            }),
        }
    }

    /// Whether the history is on (otherwise `finish` returns `None`).
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// The details for the usage record: `attempts` in order (the serving one last);
    /// `answer` is the upstream's body, else `text` (a stream's reassembled text and tool-call
    /// arguments) is kept. `None` when the history is off, or when the call's details were
    /// already handed over (a call has one record).
    pub fn finish(
        &mut self,
        request_body: &Bytes,
        attempts: Vec<AttemptLog>,
        answer: Option<Bytes>,
        text: &str,
    ) -> Option<Box<CallDetails>> {
        let draft = self.inner.take()?;
        let mut details = CallDetails {
            client_app: draft.client_app,
            request_body: None,
            response_body: None,
            attempts,
            route: Some(draft.route),
        };
        if draft.capture_bodies {
            details.request_body = Some(request_body.clone());
            details.response_body = answer
                .or_else(|| (!text.is_empty()).then(|| Bytes::copy_from_slice(text.as_bytes())));
        }
        Some(Box::new(details))
    }
}

/// `X-Title`, else `HTTP-Referer`, else `User-Agent`. A value is read as UTF-8 (an app named
/// `我的应用` is sent so), bytes that are not being replaced.
fn client_app(headers: &HeaderMap) -> Option<String> {
    ["x-title", "http-referer", "user-agent"]
        .iter()
        .filter_map(|name| headers.get(*name))
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .find(|v| !v.trim().is_empty())
        .map(|v| v.trim().chars().take(APP_CHARS).collect())
}

/// The first [`ROUTE_LINES`] candidates, as shared names and numbers.
fn route_plan(catalog: &Catalog, ranked: &[Ranked]) -> RoutePlan {
    RoutePlan {
        top: ranked
            .iter()
            .take(ROUTE_LINES)
            .filter_map(|r| {
                catalog.entry(r.entry).map(|entry| RouteCandidate {
                    candidate: entry.health_key.clone(),
                    score: r.score,
                    sub_scores: r.sub_scores,
                })
            })
            .collect(),
        ranked: ranked.len(),
    }
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
        // A title in UTF-8 (not ASCII) is still the title.
        headers.insert(
            "x-title",
            axum::http::HeaderValue::from_bytes("我的应用".as_bytes()).expect("value"),
        );
        assert_eq!(client_app(&headers).as_deref(), Some("我的应用"));
    }
}

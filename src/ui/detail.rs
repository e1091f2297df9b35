//! `/requests/{id}`: one call in full — the request and the response pretty-printed, the
//! attempts as a timeline, the route explanation (candidates and sub-scores), and the tokens
//! and cost broken down.

use crate::server::path_text::PathText;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::layout::{self, badge, count, money};
use super::Ui;
use crate::history::shorten::Json;
use crate::history::HistoryRow;
use crate::server::history_api::{blocking, not_found, store_of};

/// `GET /requests/{id}`.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap, PathText(id): PathText) -> Response {
    let wanted = id.clone();
    let found = match store_of(&ui.app) {
        Ok(store) => blocking(store, move |s| s.get(&wanted)).await,
        Err(e) => Err(e),
    };
    let (status, body) = match found {
        Ok(Some(row)) => (StatusCode::OK, detail(&row)),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            html! { p.error { (not_found(&id).message) } },
        ),
        Err(e) => (e.status, html! { p.error { (e.message) } }),
    };
    let body = html! { p { a href="/requests" { "← Requests" } } (body) };
    let mut response = layout::page(
        &format!("Request {id}"),
        "/requests",
        &ui.shell(&headers),
        body,
    )
    .into_response();
    *response.status_mut() = status;
    response
}

/// A body as JSON pretty-printed (keys in the order they were sent) when it parses, else as
/// stored.
fn pretty(body: &str) -> String {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string())
}

fn detail(row: &HistoryRow) -> Markup {
    html! {
        h1 { "Request " code #request-id { (row.id) } }
        div.cards {
            div.card { h3 { "Call" } dl {
                dt { "Time" } dd { (row.timestamp) }
                dt { "Status" } dd #status { (badge(&row.status, &row.status)) " " (row.http_status) }
                dt { "Format" } dd { (row.request_format) @if row.stream { " (stream)" } }
                dt { "App" } dd #app { (row.app.as_deref().unwrap_or("–")) }
                dt { "API key" } dd { (row.key_name.as_deref().unwrap_or("–")) }
                dt { "Strategy" } dd { (row.strategy) }
            } }
            div.card { h3 { "Route" } dl {
                dt { "Query" } dd { code { (row.query) } }
                dt { "Model" } dd #model { (row.model) }
                dt { "Channel" } dd #channel { (row.channel_id) }
                dt { "Provider" } dd { (row.provider) }
                dt { "Latency" } dd { (row.latency_ms) " ms" }
                dt { "First token" } dd { (row.ttft_ms.map_or("–".to_string(), |t| format!("{t} ms"))) }
            } }
            div.card { h3 { "Tokens and cost" } dl {
                dt { "Input" } dd { (count(row.input_tokens)) }
                dt { "Cached input" } dd { (count(row.cached_tokens)) }
                dt { "Output" } dd { (count(row.output_tokens)) }
                dt { "Reasoning" } dd { (count(row.reasoning_tokens)) }
                dt { "Total" } dd #tokens { (count(row.total_tokens)) @if row.usage_estimated { " (estimated)" } }
                dt { "Input cost" } dd { (money(row.input_cost)) }
                dt { "Output cost" } dd { (money(row.output_cost)) }
                dt { "Cost" } dd #cost { (money(row.total_cost)) " " (row.cost_currency) @if !row.cost_known { " (price unknown)" } }
            } }
        }
        @if let Some(error) = &row.error { h2 { "Error" } p.error #error { (error) } }
        h2 { "Attempts" }
        (timeline(row))
        @if let Some(route) = &row.route { h2 { "Route explanation" } pre #route { (route) } }
        h2 { "Request" }
        @match &row.request_body {
            Some(body) => pre #request-body { (pretty(body)) },
            None => p.muted { "Not kept (history.capture_bodies is off, or nothing was sent)." },
        }
        h2 { "Response" }
        @match &row.response_body {
            Some(body) => pre #response-body { (pretty(body)) },
            None => p.muted { "Not kept (no answer, or history.capture_bodies is off)." },
        }
    }
}

fn timeline(row: &HistoryRow) -> Markup {
    let longest = row
        .attempts
        .iter()
        .map(|a| a.duration_ms)
        .max()
        .unwrap_or(1)
        .max(1);
    html! {
        @if row.attempts.is_empty() { p.muted { "No candidate was tried." } } @else {
            ol.timeline #attempts {
                @for (i, a) in row.attempts.iter().enumerate() {
                    li class=[(a.error_class != "success").then_some("failed")] {
                        span.muted { "#" (i + 1) }
                        span { (a.channel) "/" (a.model) br; span.muted { (a.error_class) @if let Some(s) = a.http_status { " · HTTP " (s) } " · " (a.duration_ms) " ms" } }
                        span {
                            div.bar style={ "width:" (a.duration_ms * 100 / longest) "%" } {}
                            @if let Some(m) = &a.message { span.muted { (m) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn a_body_is_pretty_printed_with_its_keys_in_the_order_sent() {
        assert_eq!(
            pretty(r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5}"#),
            "{\n  \"model\": \"m\",\n  \"messages\": [\n    {\n      \"role\": \"user\",\n      \"content\": \"hi\"\n    }\n  ],\n  \"max_tokens\": 5\n}"
        );
        assert_eq!(pretty("plain text"), "plain text");
    }
}

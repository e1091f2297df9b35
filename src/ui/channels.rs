//! `/channels`: each channel's health (ok, cooling down, blacklisted and why, until when),
//! calls, errors, latency, spend against its budget and last discovery — the figures of
//! `/v1/stats/channel-status` — with two actions: lift a blacklist or cooldown, rediscover now.

use crate::server::path_text::PathText;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{html, Markup};
use serde_json::Value;

use super::layout::{self, badge, count, money};
use super::session::{check_post, CsrfForm};
use super::Ui;
use crate::server::stats_api::channel_status;

/// `GET /channels`.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Html<String> {
    let status = channel_status(State(ui.app.clone())).await.0;
    let empty = Vec::new();
    let channels = status
        .pointer("/data/channels")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let body = html! {
        h1 { "Channels" }
        div.scroll {
            table #channels {
                tr {
                    th { "Channel" } th { "Health" } th.num { "Calls" } th.num { "Errors" }
                    th.num { "First token" } th.num { "Spent today" } th { "Last discovery" } th { "Actions" }
                }
                @for channel in channels { (row(&ui, channel)) }
            }
        }
    };
    layout::page("Channels", "/channels", &ui.shell(&headers), body)
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn health(channel: &Value) -> Markup {
    let cooling = channel
        .get("cooling_down")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty());
    html! {
        @if channel.get("enabled") == Some(&Value::Bool(false)) {
            (badge("off", "disabled")) " " span.muted { (text(channel, "/disabled_reason")) }
        } @else if let Some(b) = channel.get("blacklisted").filter(|b| !b.is_null()) {
            (badge("blacklisted", "blacklisted")) " " (text(b, "/reason")) " until " (text(b, "/until"))
            br; span.muted { (text(b, "/message")) }
        } @else if let Some(models) = cooling {
            (badge("cooling", "cooling down"))
            @for m in models { br; span.muted { (text(m, "/model")) " until " (text(m, "/until")) } }
        } @else {
            (badge("ok", "ok"))
        }
        @if let Some(error) = channel.get("last_error").filter(|e| !e.is_null()) {
            br; span.muted { "last error " (text(error, "/at")) ": " (text(error, "/message")) }
        }
    }
}

fn row(ui: &Ui, channel: &Value) -> Markup {
    let id = text(channel, "/channel_id");
    let snapshot = ui.app.snapshot();
    let budget = snapshot.config.channel(id).and_then(|c| c.daily_budget);
    let spent = {
        let agg = ui.app.aggregates.read().unwrap_or_else(|p| p.into_inner());
        agg.spend_on(Utc::now().date_naive(), Some(id))
    };
    let number = |p: &str| channel.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    html! {
        tr data-channel=(id) {
            td { strong { (id) } br; span.muted { (text(channel, "/name")) " · " (text(channel, "/provider")) } }
            td.health { (health(channel)) }
            td.num { (count(number("/calls"))) }
            td.num { (count(number("/errors"))) }
            td.num { (channel.get("avg_ttft_ms").and_then(Value::as_f64).map_or("–".into(), |t| format!("{t:.0} ms"))) }
            td.num { (money(spent)) @if let Some(b) = budget { " / " (money(b)) } }
            td {
                @if let Some(d) = channel.get("discovery").filter(|d| !d.is_null()) {
                    (text(d, "/last_success")) br;
                    span.muted { (d.get("models").and_then(Value::as_u64).unwrap_or(0)) " models from " (text(d, "/source")) }
                    @if !text(d, "/last_error").is_empty() { br; span.error { (text(d, "/last_error")) } }
                } @else { span.muted { "never" } }
            }
            td {
                form.inline method="post" action={ "/channels/" (layout::url_encode(id)) "/lift" } {
                    input type="hidden" name="csrf" value=(ui.csrf);
                    button.quiet type="submit" data-action="lift" { "Lift" }
                }
                " "
                form.inline method="post" action={ "/channels/" (layout::url_encode(id)) "/discover" } {
                    input type="hidden" name="csrf" value=(ui.csrf);
                    button.quiet type="submit" data-action="discover" { "Rediscover" }
                }
            }
        }
    }
}

/// `POST /channels/{id}/lift`: lift its blacklist and its models' cooldowns.
pub async fn lift(
    State(ui): State<Ui>,
    headers: HeaderMap,
    PathText(id): PathText,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_post(&ui, &headers, &form.csrf) {
        return refused.into_response();
    }
    ui.app.health.lift(&id);
    tracing::info!(channel = %id, "blacklist and cooldowns lifted from the web UI");
    Redirect::to("/channels").into_response()
}

/// `POST /channels/{id}/discover`: fetch its model list now.
pub async fn discover(
    State(ui): State<Ui>,
    headers: HeaderMap,
    PathText(id): PathText,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_post(&ui, &headers, &form.csrf) {
        return refused.into_response();
    }
    let app: Arc<_> = ui.app.clone();
    if let Some(rebuilder) = app.rebuilder.get() {
        let only = [id];
        crate::runtime::discovery::discover(&app, rebuilder, Some(&only)).await;
    }
    Redirect::to("/channels").into_response()
}

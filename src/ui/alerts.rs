//! `/alerts`: the channel alerts of the last week, clearable per channel or all at once
//! (clearing also lifts the channel's blacklist, as `POST /v1/stats/clear-alerts` does).

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::layout::{self, badge};
use super::session::check_post;
use super::Ui;
use crate::shared_state::alerts::release_claims;

const WEEK_HOURS: u32 = 168;

/// `GET /alerts`.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Html<String> {
    let report = ui
        .app
        .alerts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .recent(WEEK_HOURS, Utc::now());
    let body = html! {
        h1 { "Alerts" }
        p.muted { (report.total_alerts) " alert(s) in the last 7 days." }
        @if !report.alerts.is_empty() {
            form.inline method="post" action="/alerts/clear" {
                input type="hidden" name="csrf" value=(ui.csrf);
                button #clear-all type="submit" { "Clear all (and lift every blacklist)" }
            }
            div.scroll { table #alerts {
                tr { th { "When (UTC)" } th { "Channel" } th { "Type" } th { "Message" } th {} }
                @for alert in &report.alerts {
                    tr {
                        td { (alert.timestamp.get(..19).unwrap_or(&alert.timestamp).replace('T', " ")) }
                        td { (alert.channel_id) br; span.muted { (alert.channel_name) } }
                        td { (badge("error", &alert.alert_type)) }
                        td { (alert.message) }
                        td {
                            form.inline method="post" action="/alerts/clear" {
                                input type="hidden" name="csrf" value=(ui.csrf);
                                input type="hidden" name="channel" value=(alert.channel_id);
                                button.quiet type="submit" { "Clear channel" }
                            }
                        }
                    }
                }
            } }
        }
    };
    layout::page("Alerts", "/alerts", &ui.shell(&headers), body)
}

#[derive(Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    csrf: String,
    channel: Option<String>,
}

/// `POST /alerts/clear`: one channel's alerts (`channel`), else all.
pub async fn clear(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Form(form): Form<ClearForm>,
) -> Response {
    if let Err(refused) = check_post(&ui, &headers, &form.csrf) {
        return refused.into_response();
    }
    let alerts = ui.app.alerts.clone();
    let channel = form.channel.filter(|c| !c.is_empty());
    let which = channel.clone();
    let cleared = tokio::task::spawn_blocking(move || {
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        match &which {
            Some(id) => log.clear_channel(id),
            None => log.clear_all(),
        }
    })
    .await;
    if !matches!(cleared, Ok(Ok(_))) {
        tracing::error!("clearing alerts from the web UI failed");
    }
    let (snapshot, today) = (ui.app.snapshot(), Utc::now().date_naive());
    let configured = snapshot.config.channels.iter().map(|c| c.id.as_str());
    match &channel {
        Some(id) => release_claims(ui.app.shared(), [id.as_str()], today),
        None => release_claims(ui.app.shared(), configured.chain(["global"]), today),
    }
    match channel {
        Some(id) => ui.app.health.clear_blacklist(&id),
        None => {
            for c in &snapshot.config.channels {
                ui.app.health.clear_blacklist(&c.id);
            }
        }
    }
    Redirect::to("/alerts").into_response()
}

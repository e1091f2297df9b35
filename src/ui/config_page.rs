//! `/config`: the running configuration, secrets masked (a key or token shows only as
//! "set"), and the error of the last rejected reload, if any.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{html, Markup};

use super::layout;
use super::Ui;
use crate::config::{url_without_credentials, Config, Secret};

/// `GET /config`.
pub async fn page(State(ui): State<Ui>, headers: HeaderMap) -> Html<String> {
    let snapshot = ui.app.snapshot();
    let error = ui.app.config_error.load_full();
    let body = html! {
        h1 { "Config" }
        p.muted { "Generation " (snapshot.generation) " · loaded from " code { (ui.app.source.dir.display()) } }
        @if let Some(error) = error {
            h2 { "Last reload rejected" }
            pre.error #reload-error { (error) }
        }
        (sections(&snapshot.config))
        h2 { "Channels" }
        (channels(&snapshot.config))
    };
    layout::page("Config", "/config", &ui.shell(&headers), body)
}

fn secret(s: Option<&Secret>) -> &'static str {
    if s.is_some() {
        "set (hidden)"
    } else {
        "not set"
    }
}

fn section(title: &str, rows: &[(&str, String)]) -> Markup {
    html! {
        div.card { h3 { (title) } dl {
            @for (k, v) in rows { dt { (k) } dd { code { (v) } } }
        } }
    }
}

fn sections(c: &Config) -> Markup {
    let secs = |d: std::time::Duration| format!("{}s", d.as_secs_f64());
    html! {
        div.cards {
            (section("server", &[
                ("host", c.server.host.clone()), ("port", c.server.port.to_string()),
                ("workers", c.server.workers.to_string()), ("max_body_bytes", c.server.max_body_bytes.to_string()),
                ("cache_dir", c.server.cache_dir.display().to_string()),
            ]))
            (section("auth", &[
                ("enabled", c.auth.enabled.to_string()),
                ("api_token", secret(c.auth.api_token.as_ref()).into()),
                ("admin_token", secret(c.auth.admin_token.as_ref()).into()),
                ("protect_metrics", c.auth.protect_metrics.to_string()),
            ]))
            (section("routing", &[
                ("default_strategy", c.routing.default_strategy.clone()),
                ("strategies", c.routing.strategies.keys().cloned().collect::<Vec<_>>().join(", ")),
                ("max_attempts", c.routing.max_attempts.to_string()),
                ("cooldown", secs(c.routing.cooldown)), ("max_cooldown", secs(c.routing.max_cooldown)),
                ("failure_threshold", c.routing.failure_threshold.to_string()),
            ]))
            (section("discovery", &[
                ("enabled", c.discovery.enabled.to_string()), ("interval", secs(c.discovery.interval)),
                ("timeout", secs(c.discovery.timeout)),
            ]))
            (section("usage", &[
                ("enabled", c.usage.enabled.to_string()), ("dir", c.usage.dir.display().to_string()),
            ]))
            (section("history", &[
                ("enabled", c.history.enabled.to_string()), ("path", c.history.path.display().to_string()),
                ("capture_bodies", c.history.capture_bodies.to_string()),
                ("search_bodies", c.history.search_bodies.to_string()),
                ("max_body_bytes", c.history.max_body_bytes.to_string()),
                ("retention_days", c.history.retention_days.to_string()),
                ("url", c.history.url.as_ref().map_or("not set (SQLite at path)".into(), |u| url_without_credentials(u.expose()))),
            ]))
            (section("cost_control", &[
                ("global_daily_budget", c.cost_control.global_daily_budget.map_or("none".into(), |b| b.to_string())),
                ("alert_threshold", c.cost_control.alert_threshold.to_string()),
                ("auto_disable_on_budget_exceeded", c.cost_control.auto_disable_on_budget_exceeded.to_string()),
            ]))
        }
    }
}

fn channels(c: &Config) -> Markup {
    html! {
        div.scroll { table #config-channels {
            tr { th { "id" } th { "provider" } th { "base_url" } th { "api_key" } th { "enabled" } th { "tags" } th.num { "daily_budget" } th.num { "priority" } }
            @for ch in &c.channels {
                tr {
                    td { (ch.id) } td { (ch.provider.key) } td { code { (ch.base_url) } }
                    td { (secret(ch.api_key.as_ref())) }
                    td { (ch.enabled) @if let Some(r) = &ch.disabled_reason { br; span.muted { (r) } } }
                    td { (ch.tags.join(", ")) }
                    td.num { (ch.daily_budget.map(|b| b.to_string()).unwrap_or_default()) }
                    td.num { (ch.priority) }
                }
            }
        } }
    }
}

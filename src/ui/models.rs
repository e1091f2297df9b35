//! `/models?q=…`: the catalog, and for a query (`tag:free,qwen3,>20b`, a model name) the
//! explain feature made visual — which models match and how they rank under the chosen
//! strategy with every sub-score, the top of the ranking under each other strategy, and why
//! the others dropped out.

use crate::proxy::request::MAX_MODEL_BYTES;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{html, Markup};
use serde_json::Value;

use super::layout::{self, badge, count};
use super::Ui;
use crate::catalog::ModelKind;
use crate::explain::{explain, ExplainError};

/// Catalog rows shown without a query.
const CATALOG_ROWS: usize = 300;
/// Candidates shown under the chosen strategy (pages stay small with thousands of models).
const RANKING_ROWS: usize = 200;
/// Candidates shown under each strategy but the chosen one.
const OTHER_STRATEGY_ROWS: usize = 5;

/// `GET /models`.
pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Html<String> {
    let q = params.get("q").map(|q| q.trim()).unwrap_or("");
    let snapshot = ui.app.snapshot();
    let config = &snapshot.config;
    let chosen = params
        .get("strategy")
        .filter(|s| config.routing.strategies.contains_key(s.as_str()))
        .cloned()
        .unwrap_or_else(|| config.routing.default_strategy.clone());
    let body = html! {
        h1 { "Models" }
        form.filters method="get" action="/models" {
            label { "Query" input #q name="q" value=(q) placeholder="tag:free,qwen3,>20b or a model name"; }
            label { "Strategy"
                select name="strategy" {
                    @for name in config.routing.strategies.keys() {
                        option value=(name) selected[*name == chosen] { (name) }
                    }
                }
            }
            button #explain type="submit" { "Explain" }
        }
        @if q.is_empty() { (catalog(&ui)) } @else { (explained(&ui, q, &chosen)) }
    };
    layout::page("Models", "/models", &ui.shell(&headers), body)
}

fn catalog(ui: &Ui) -> Markup {
    let snapshot = ui.app.snapshot();
    let catalog = &snapshot.catalog;
    html! {
        p.muted { (count(catalog.len() as u64)) " models across the enabled channels"
            @if catalog.len() > CATALOG_ROWS { " (the first " (CATALOG_ROWS) " below; a query narrows them)" } "." }
        div.scroll { table #catalog {
            tr { th { "Channel" } th { "Model" } th { "Kind" } th.num { "Context" } th.num { "Params (B)" } th.num { "Price in/out per 1M" } th { "Tags" } }
            @for e in catalog.entries.iter().take(CATALOG_ROWS) {
                tr {
                    td { (e.channel.id) } td { (e.model_id) } td { (e.kind.as_str()) }
                    td.num { (e.context_tokens.map(count).unwrap_or_default()) }
                    td.num { (e.params_b.map(|p| format!("{p}")).unwrap_or_default()) }
                    td.num { (e.price.map(|p| format!("{} / {}", p.input, p.output)).unwrap_or_else(|| "?".into())) }
                    td.muted { (e.tags.join(", ")) }
                }
            }
        } }
    }
}

fn explained(ui: &Ui, q: &str, chosen: &str) -> Markup {
    if q.len() > MAX_MODEL_BYTES {
        return html! { p.error #explain-error role="alert" {
            "The query is " (q.len()) " bytes long; at most " (MAX_MODEL_BYTES) " are accepted."
        } };
    }
    let snapshot = ui.app.snapshot();
    let config = &snapshot.config;
    let run = |name: &str| {
        let strategy = config.routing.strategies.get(name)?;
        Some(explain(
            config,
            &snapshot.catalog,
            &ui.app.health,
            &ui.app.limits,
            q,
            strategy,
            ModelKind::Chat,
        ))
    };
    let main = match run(chosen) {
        Some(Ok(v)) => v,
        Some(Err(ExplainError::BadQuery(m) | ExplainError::NoMatch(m))) => {
            return html! { p.error #explain-error role="alert" { (m) } }
        }
        None => return html! { p.error { "Unknown strategy." } },
    };
    html! {
        h2 { "Ranking under " (chosen) }
        (ranking(&main, RANKING_ROWS, true))
        h2 { "Dropped" }
        (dropped(&main))
        h2 { "Under the other strategies" }
        div.two {
            @for name in config.routing.strategies.keys().filter(|n| n.as_str() != chosen) {
                @if let Some(Ok(v)) = run(name) {
                    div { h3 { (name) } (ranking(&v, OTHER_STRATEGY_ROWS, false)) }
                }
            }
        }
    }
}

fn ranking(explained: &Value, limit: usize, sub_scores: bool) -> Markup {
    let empty = Vec::new();
    let candidates = explained
        .get("candidates")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    html! {
        p.muted {
            (candidates.len()) " candidate" (if candidates.len() == 1 { "" } else { "s" })
            @if candidates.len() > limit { " (the first " (limit) " shown)" }
        }
        div.scroll { table.ranking {
            tr { th.num { "#" } th { "Channel / model" } th.num { "Score" } th { "Status" } @if sub_scores { th { "Sub-scores (value × weight)" } } }
            @for c in candidates.iter().take(limit) {
                tr {
                    td.num { (c.get("rank").and_then(Value::as_u64).unwrap_or(0)) }
                    td { (s(c, "channel")) " / " strong { (s(c, "model")) } }
                    td.num { (format!("{:.4}", c.get("score").and_then(Value::as_f64).unwrap_or(0.0))) }
                    td { @let status = s(c, "status"); (badge(if status == "available" { "ok" } else { "cooling" }, &status)) }
                    @if sub_scores { td.muted { (sub_score_text(c)) } }
                }
            }
        } }
    }
}

fn sub_score_text(candidate: &Value) -> String {
    let Some(map) = candidate.get("sub_scores").and_then(Value::as_object) else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| v.get("weight").and_then(Value::as_f64).unwrap_or(0.0) != 0.0)
        .map(|(k, v)| {
            let value = v.get("value").and_then(Value::as_f64).unwrap_or(0.0);
            let weight = v.get("weight").and_then(Value::as_f64).unwrap_or(0.0);
            format!("{k} {value:.2}×{weight}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn dropped(explained: &Value) -> Markup {
    let empty = Vec::new();
    let dropped = explained
        .get("dropped")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    html! {
        @if dropped.is_empty() { p.muted { "None." } } @else {
            table #dropped {
                tr { th { "Channel / model" } th { "Why" } }
                @for d in dropped.iter().take(200) {
                    tr { td { (s(d, "channel")) " / " (s(d, "model")) } td { (s(d, "reason")) } }
                }
            }
        }
    }
}

//! `explain`: how a query would be routed right now, without calling anything — every
//! candidate in rank order with each sub-score and weight, and every dropped one with the
//! reason (tag, filter, context fit, blacklisted until T, cooling down). Shared by
//! `GET /v1/route/explain` and `smart-ai-router explain`.

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::catalog::{Catalog, CatalogEntry, ModelKind};
use crate::config::Config;
use crate::health::{Availability, ChannelHealth};
use crate::query::Needs;
use crate::scoring::{plan, Plan, PlanError, Strategy, SubScore};

/// Why explain could not run: a bad query (400) or no match (404).
#[derive(Debug, Clone, PartialEq)]
pub enum ExplainError {
    BadQuery(String),
    NoMatch(String),
}

/// A monotonic deadline as an RFC 3339 UTC time.
pub fn wall_clock(until: Instant) -> String {
    let left = until.saturating_duration_since(Instant::now());
    let at = Utc::now() + chrono::Duration::from_std(left).unwrap_or_default();
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The availability of a candidate as words (and a time, when it has one).
pub fn availability_text(availability: &Availability) -> String {
    match availability {
        Availability::Available => "available".into(),
        Availability::Trial => "recovering: the next request is its half-open trial".into(),
        Availability::Blacklisted { reason, until } => format!(
            "blacklisted ({}) until {}",
            reason.as_str(),
            wall_clock(*until)
        ),
        Availability::CoolingDown { until } => format!("cooling down until {}", wall_clock(*until)),
        Availability::TrialInProgress => "recovering: a trial request is in flight".into(),
        Availability::Removed => {
            "removed: the upstream said the model does not exist (until the next discovery)".into()
        }
    }
}

fn price_json(entry: &CatalogEntry) -> Value {
    match entry.price {
        Some(p) => {
            json!({"input": p.input, "output": p.output, "cached_input": p.cached_input, "currency": entry.channel.currency, "source": entry.price_source.as_str()})
        }
        None => json!({"source": "unknown"}),
    }
}

/// Explain `query` for the chat route (or `kind`) with `strategy`.
pub fn explain(
    config: &Config,
    catalog: &Catalog,
    health: &ChannelHealth,
    query: &str,
    strategy: &Strategy,
    kind: ModelKind,
) -> Result<Value, ExplainError> {
    let needs = Needs {
        kind,
        filters: &config.routing.model_filters,
        context_tokens: None,
    };
    let Plan {
        ranked,
        dropped: resolution_dropped,
    } = {
        let live = health.live_board();
        let live = |e: &CatalogEntry| live.scores(&e.health_key);
        plan(catalog, query, &needs, strategy, &live, true).map_err(|e| match e {
            PlanError::BadQuery(m) => ExplainError::BadQuery(m),
            PlanError::NoMatch(m) => ExplainError::NoMatch(m),
        })?
    };
    let now = Instant::now();
    let mut candidates = Vec::with_capacity(ranked.len());
    let mut dropped = Vec::new();
    for (i, r) in ranked.iter().enumerate() {
        let Some(entry) = catalog.entry(r.entry) else {
            continue;
        };
        let availability = health.peek(&entry.channel, &entry.health_key, now);
        let mut sub_scores = Map::new();
        for s in SubScore::ALL {
            sub_scores.insert(
                s.field().into(),
                json!({"value": r.sub_scores[s.index()], "weight": strategy.weight(s)}),
            );
        }
        let status = availability_text(&availability);
        if !availability.is_usable() {
            dropped.push(
                json!({"channel": entry.channel.id, "model": entry.model_id, "reason": status}),
            );
        }
        candidates.push(json!({
            "rank": i + 1,
            "channel": entry.channel.id,
            "model": entry.model_id,
            "score": r.score,
            "sub_scores": sub_scores,
            "status": status,
            "tags": entry.tags,
            "parameters_b": entry.params_b,
            "active_parameters_b": entry.active_params_b,
            "context_length": entry.context_tokens,
            "kind": entry.kind.as_str(),
            "price": price_json(entry),
        }));
    }
    for d in &resolution_dropped {
        if let Some(entry) = catalog.entry(d.entry) {
            dropped.push(
                json!({"channel": entry.channel.id, "model": entry.model_id, "reason": d.reason}),
            );
        }
    }
    let weights: Map<String, Value> = strategy
        .nonzero()
        .map(|(s, w)| (s.field().to_string(), json!(w)))
        .collect();
    Ok(json!({
        "query": query,
        "strategy": strategy.name,
        "weights": weights,
        "max_attempts": config.routing.max_attempts,
        "candidates": candidates,
        "dropped": dropped,
    }))
}

//! `GET /v1/models` (the catalog as an OpenAI model list, with extra fields), `GET
//! /v1/models/{id}` (one model, by id or alias) and
//! `GET /v1/route/explain?model=Q` (see `explain.rs`).
//!
//! Each channel alias is an item of its own (`alias_of`: the channel's model id, `channel`:
//! the first channel that defines it), so UIs that offer models from this list offer aliases
//! too; an alias spelled like a model id of the catalog is not listed twice. `created` is the
//! upstream's figure when discovery had one, else 0.

use crate::proxy::request::{clip_client_text, model_too_long};
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::catalog::ModelKind;
use crate::explain::{explain, ExplainError};
use crate::state::AppState;

/// One item per distinct model id; `channels` lists who serves it, `tags` is the union.
pub async fn list_models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snapshot = state.snapshot();
    let mut items: BTreeMap<&str, Value> = BTreeMap::new();
    for entry in &snapshot.catalog.entries {
        let item = items.entry(entry.model_id.as_str()).or_insert_with(|| {
            json!({
                "id": entry.model_id,
                "object": "model",
                "created": entry.created.unwrap_or(0),
                "owned_by": entry.channel.provider.key,
                "tags": [],
                "channels": [],
                "context_length": entry.context_tokens,
                "parameters_b": entry.params_b,
                "kind": entry.kind.as_str(),
            })
        });
        if let Some(channels) = item["channels"].as_array_mut() {
            channels.push(json!(entry.channel.id));
        }
        if let Some(tags) = item["tags"].as_array_mut() {
            for tag in &entry.tags {
                if !tags.iter().any(|t| t == tag) {
                    tags.push(json!(tag));
                }
            }
        }
    }
    let mut aliases: BTreeMap<&str, Value> = BTreeMap::new();
    for (alias, id) in &snapshot.catalog.aliases {
        let Some(entry) = snapshot.catalog.entry(*id) else {
            continue;
        };
        if items.contains_key(alias.as_str()) {
            continue;
        }
        let item = aliases.entry(alias.as_str()).or_insert_with(|| {
            json!({
                "id": alias,
                "object": "model",
                "created": entry.created.unwrap_or(0),
                "owned_by": entry.channel.provider.key,
                "alias_of": entry.model_id,
                "channel": entry.channel.id,
                "tags": entry.tags,
                "channels": [],
                "context_length": entry.context_tokens,
                "parameters_b": entry.params_b,
                "kind": entry.kind.as_str(),
            })
        });
        if let Some(channels) = item["channels"].as_array_mut() {
            channels.push(json!(entry.channel.id));
        }
    }
    items.extend(aliases);
    Json(json!({"object": "list", "data": items.into_values().collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
pub struct ExplainParams {
    model: Option<String>,
    strategy: Option<String>,
    kind: Option<String>,
}

pub async fn route_explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<ExplainParams>,
) -> Result<Json<Value>, ApiError> {
    let model = params
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_model",
                "Give the query to explain as ?model=..., e.g. ?model=tag:free,qwen3",
            )
            .with_param("model")
        })?;
    if let Some(message) = model_too_long(&model) {
        return Err(ApiError::bad_request("invalid_model_query", message).with_param("model"));
    }
    let snapshot = state.snapshot();
    let config = &snapshot.config;
    let name = params
        .strategy
        .or_else(|| {
            headers
                .get(crate::proxy::header_names::X_ROUTER_STRATEGY)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        })
        .unwrap_or_else(|| config.routing.default_strategy.clone());
    let strategy = config.routing.strategies.get(&name).ok_or_else(|| {
        let known: Vec<&str> = config
            .routing
            .strategies
            .keys()
            .map(String::as_str)
            .collect();
        ApiError::bad_request(
            "unknown_strategy",
            format!(
                "Unknown strategy {:?}; known: {}.",
                clip_client_text(&name),
                known.join(", ")
            ),
        )
    })?;
    let kind = match params.kind.as_deref() {
        None | Some("chat") => ModelKind::Chat,
        Some("embedding") => ModelKind::Embedding,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_kind",
                format!(
                    "kind must be chat or embedding, got {:?}.",
                    clip_client_text(other)
                ),
            ))
        }
    };
    explain(
        config,
        &snapshot.catalog,
        &state.health,
        &state.limits,
        &model,
        strategy,
        kind,
    )
    .map(Json)
    .map_err(|e| match e {
        ExplainError::BadQuery(m) => {
            ApiError::bad_request("invalid_model_query", m).with_param("model")
        }
        ExplainError::NoMatch(m) => ApiError::model_not_found(m),
    })
}

/// `GET /v1/models/{id}`: one model by its id or by a channel's alias for it, in the list's
/// item shape (`id` is the id asked for); 404 `model_not_found` when no channel serves it.
pub async fn get_model(
    State(state): State<Arc<AppState>>,
    super::path_text::PathText(id): super::path_text::PathText,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot();
    let catalog = &snapshot.catalog;
    let key = id.to_lowercase();
    let exact = catalog.index.exact_id(&key);
    let ids = if exact.is_empty() {
        catalog.index.alias(&key)
    } else {
        exact
    };
    let entries: Vec<_> = ids.iter().filter_map(|e| catalog.entry(*e)).collect();
    let Some(first) = entries.first() else {
        return Err(ApiError::model_not_found(format!(
            "The model {:?} is not served by any channel. GET /v1/models lists the models, and a tag query such as tag:free finds them by tag.",
            clip_client_text(&id)
        )));
    };
    let mut channels: Vec<&str> = Vec::new();
    let mut tags: Vec<&str> = Vec::new();
    let mut served_as: Vec<&str> = Vec::new();
    for entry in &entries {
        push_unique(&mut channels, &entry.channel.id);
        push_unique(&mut served_as, &entry.model_id);
        for tag in &entry.tags {
            push_unique(&mut tags, tag);
        }
    }
    Ok(Json(json!({
        "id": id,
        "object": "model",
        "created": 0,
        "owned_by": first.channel.provider.key,
        "tags": tags,
        "channels": channels,
        "served_as": served_as,
        "context_length": first.context_tokens,
        "parameters_b": first.params_b,
        "kind": first.kind.as_str(),
    })))
}

fn push_unique<'a>(list: &mut Vec<&'a str>, item: &'a str) {
    if !list.contains(&item) {
        list.push(item);
    }
}

//! The proxy: one routed call, as a fixed series of steps (pingora's spine):
//! parse the body → resolve the query → rank → attempt candidates with failover → relay →
//! record usage. [`handle`] reads like that list; each step lives in its own module. Each
//! attempt speaks its candidate's format (`format`: passthrough or translation between the
//! OpenAI, Anthropic Messages and Responses APIs).
//!
//! Failover rules (docs/failover.md): candidates are tried in rank order, at most
//! `routing.max_attempts`, skipping blacklisted, cooling-down and removed ones (a recovering
//! one gets a single half-open trial). A 400 that is the request's own fault or a
//! content-policy refusal goes back to the client as is; a context-length error moves on to
//! a candidate with a larger known context; every other failure moves on. When every attempt
//! fails: 502 listing each `channel/model: error`; when nothing could be tried: 503 with
//! `Retry-After`. A client that goes away mid-call still leaves a `cancelled` record
//! (`outcome::InFlight`).
//!
//! Hot path (BENCHMARKS.md): a request parses no config, compiles no regex, scans no catalog
//! (indexes answer the query), builds no client (one per serving thread, `upstream`), parses
//! no upstream URL and formats no auth header (`config::PreparedRequest`), logs nothing at
//! info per request or per chunk, and hands its usage record to a queue without a system
//! call. The body is forwarded as the client's bytes with only `model` (and
//! `stream_options`) spliced in (`request`); an answer is read in one parse.

mod attempt;
pub mod call;
mod details;
mod effects;
pub mod error;
mod failover;
pub mod format;
pub mod header_names;
pub mod relay;
pub mod request;
mod respond;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use tokio::time::Instant;

use crate::catalog::ModelKind;
use crate::limits::ClientKey;
use crate::query::Needs;
use crate::scoring::{plan, PlanError, Ranked, Strategy};
use crate::state::{AppState, Snapshot};
use crate::upstream::client::Endpoint;
use crate::usage::tokens::quick_prompt_estimate;
use call::CallContext;
pub use error::RouteError;
use header_names::{
    X_REQUEST_ID, X_ROUTER_ATTEMPTS, X_ROUTER_RULE, X_ROUTER_STRATEGY, X_ROUTER_TIME,
};
use request::ClientRequest;

/// The routed endpoints: OpenAI's three, Anthropic Messages and OpenAI Responses (the API the
/// client speaks; `format` decides how each candidate is called).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Chat,
    Completion,
    Embedding,
    Messages,
    Responses,
}

impl RouteKind {
    /// The channel endpoint this route calls.
    pub fn endpoint(self) -> Endpoint {
        match self {
            RouteKind::Chat | RouteKind::Responses => Endpoint::Chat,
            RouteKind::Messages => Endpoint::Messages,
            RouteKind::Completion => Endpoint::Completions,
            RouteKind::Embedding => Endpoint::Embeddings,
        }
    }

    /// The model kind this route serves.
    pub fn model_kind(self) -> ModelKind {
        match self {
            RouteKind::Chat
            | RouteKind::Completion
            | RouteKind::Messages
            | RouteKind::Responses => ModelKind::Chat,
            RouteKind::Embedding => ModelKind::Embedding,
        }
    }

    /// `request_type` of the usage record, and the metrics label (Messages and Responses
    /// calls are chats; `request_format` tells them apart).
    pub fn label(self) -> &'static str {
        match self {
            RouteKind::Chat | RouteKind::Messages | RouteKind::Responses => "chat",
            RouteKind::Completion => "completion",
            RouteKind::Embedding => "embedding",
        }
    }

    /// `request_format` of the usage record: the API the client spoke.
    pub fn request_format(self) -> &'static str {
        match self {
            RouteKind::Chat => "openai_chat",
            RouteKind::Completion => "openai_completion",
            RouteKind::Embedding => "openai_embedding",
            RouteKind::Messages => "anthropic_messages",
            RouteKind::Responses => "openai_responses",
        }
    }
}

/// A call that ended without an upstream's answer: the error (its status decided by
/// [`RouteError::status`]) and the headers the client's error response carries
/// (`x-request-id`, and `x-router-*` once the call was routed).
#[derive(Debug)]
pub struct RouteFailure {
    pub error: RouteError,
    pub headers: HeaderMap,
}

/// Handle one routed request end to end, on the snapshot the request loaded first. The
/// spine: parse → plan (resolve the query, rank) → attempt in order (failover) → respond
/// (relay) → record (the call context, once).
pub async fn handle(
    state: Arc<AppState>,
    snapshot: Arc<Snapshot>,
    route: RouteKind,
    headers: &HeaderMap,
    key: Option<ClientKey>,
    body: Bytes,
) -> Result<Response, RouteFailure> {
    let started = Instant::now();
    let request_id = request_id(headers);
    // The strategy is picked once: for routing, and for the headers of an early error.
    let routing = &snapshot.config.routing;
    let strategy = pick_strategy(headers, &routing.strategies, &routing.default_strategy);
    // An error before any attempt: `x-request-id`, no attempts, the time taken, and the
    // strategy the request asked for when it names a known one.
    let strategy_asked = strategy.as_ref().ok().map(|s| s.name.as_str());
    let unrouted = |error: RouteError| {
        let mut headers = request_id_header(&request_id);
        headers.insert(X_ROUTER_ATTEMPTS, HeaderValue::from(0u32));
        headers.insert(
            X_ROUTER_TIME,
            HeaderValue::from(started.elapsed().as_millis() as u64),
        );
        if let Some(value) = strategy_asked.and_then(|s| HeaderValue::from_str(s).ok()) {
            headers.insert(X_ROUTER_STRATEGY, value);
        }
        RouteFailure { error, headers }
    };
    // 1. Parse: the few fields routing needs; no `model` (or `auto`) takes the configured one.
    let mut request = ClientRequest::parse(body).map_err(unrouted)?;
    let rule = default_model(&snapshot.config.routing, &mut request).map_err(unrouted)?;
    format::check_request(route, &request.body)
        .map_err(|m| unrouted(RouteError::bad_request("unsupported_parameter", m)))?;
    // 2. Plan: resolve the query against the catalog and rank the candidates.
    let strategy = strategy.map_err(unrouted)?;
    let planned = plan_call(&state, &snapshot, route, strategy, &request, key.as_ref());
    let (strategy, ranked) = planned.map_err(unrouted)?;
    let id_header = HeaderValue::from_str(&request_id).ok();
    let mut call = CallContext::new(
        state, snapshot, route, request, request_id, strategy, started,
    );
    call.key = key;
    if route == RouteKind::Messages {
        call.anthropic_beta = headers.get("anthropic-beta").cloned();
    }
    call.details = details::DetailsDraft::start(
        &call.snapshot.config.history,
        headers,
        &call.snapshot.catalog,
        &ranked,
    );
    // 3-5. Attempt in order, respond (relay), record.
    let mut outcome = failover::attempt_in_order(call, ranked).await;
    let headers = match &mut outcome {
        Ok(response) => response.headers_mut(),
        Err(failure) => &mut failure.headers,
    };
    if let Some(value) = id_header {
        headers.insert(X_REQUEST_ID, value);
    }
    if let Some(value) = rule.and_then(|r| HeaderValue::from_str(&r).ok()) {
        headers.insert(X_ROUTER_RULE, value);
    }
    outcome
}

/// A request without `model` (or with `auto`): the query of the first `routing.rules` entry
/// its estimated prompt fits, else `routing.default_model`; the rule's name, when one applied.
fn default_model(
    routing: &crate::config::RoutingConfig,
    request: &mut ClientRequest,
) -> Result<Option<String>, RouteError> {
    if request.has_model() && request.model != "auto" {
        return Ok(None);
    }
    let prompt_tokens = quick_prompt_estimate(request.body.len());
    match routing.model_for_prompt(prompt_tokens) {
        Some((query, rule)) => {
            request.model = query.to_string();
            Ok(rule.map(str::to_string))
        }
        None => Err(RouteError::bad_request(
            "invalid_request_body",
            "`model` is required: a model name such as \"qwen3-235b-a22b\" or a tag query such as \"tag:free,qwen3\" (or set routing.default_model).",
        )
        .with_param("model")),
    }
}

/// The strategy's name and the ranked candidates for this request.
fn plan_call(
    state: &AppState,
    snapshot: &Snapshot,
    route: RouteKind,
    strategy: &Strategy,
    request: &ClientRequest,
    key: Option<&ClientKey>,
) -> Result<(String, Vec<Ranked>), RouteError> {
    let config = &snapshot.config;
    let needs = Needs {
        kind: route.model_kind(),
        filters: &config.routing.model_filters,
        context_tokens: context_need(route, request),
    };
    let live = state.health.live_board();
    let live = |entry: &crate::catalog::CatalogEntry| live.scores(&entry.health_key);
    let plan = plan(
        &snapshot.catalog,
        &request.model,
        &needs,
        strategy,
        &live,
        false,
    )
    .map_err(|e| match e {
        PlanError::BadQuery(message) => {
            let message = request::clip_client_text(&message).into_owned();
            RouteError::bad_request("invalid_model_query", message).with_param("model")
        }
        PlanError::NoMatch(message) => RouteError::NoMatch {
            message: request::clip_client_text(&message).into_owned(),
        },
    })?;
    let mut ranked = plan.ranked;
    // The client key's `allow` query bounds what it may reach.
    if let Some(key) = key {
        key.bound(&snapshot.catalog, &needs, &mut ranked);
        if ranked.is_empty() {
            return Err(RouteError::NotAllowed {
                message: format!(
                    "Key {:?} may not use {:?}: its allow query is {:?} (auth.keys).",
                    key.name,
                    request.model,
                    key.config.allow.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    Ok((strategy.name.clone(), ranked))
}

/// Estimated prompt tokens + `max_tokens` for chat and completions (context fit).
fn context_need(route: RouteKind, request: &ClientRequest) -> Option<u64> {
    (route != RouteKind::Embedding)
        .then(|| quick_prompt_estimate(request.body.len()) + request.max_tokens.unwrap_or(0))
}

fn pick_strategy<'a>(
    headers: &HeaderMap,
    strategies: &'a std::collections::BTreeMap<String, Strategy>,
    default: &str,
) -> Result<&'a Strategy, RouteError> {
    let wanted = headers
        .get(X_ROUTER_STRATEGY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(default);
    strategies.get(wanted).ok_or_else(|| {
        let known: Vec<&str> = strategies.keys().map(String::as_str).collect();
        RouteError::bad_request(
            "unknown_strategy",
            format!(
                "Unknown strategy {wanted:?} in x-router-strategy; known: {}.",
                known.join(", ")
            ),
        )
    })
}

/// The client's own `x-request-id` when it sent a usable one (1 to 128 characters of
/// `[A-Za-z0-9._:-]`), else `req_` and 24 hex digits: 12 of the time in milliseconds, 12
/// random.
fn request_id(headers: &HeaderMap) -> String {
    let theirs = headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        });
    match theirs {
        Some(id) => id.to_string(),
        None => {
            // Milliseconds since the epoch first, then 48 random bits: ids made later sort
            // later, so the history's index on them grows at one end instead of everywhere.
            let now_ms = crate::limits::now_ms();
            let random: u64 = rand::random();
            format!(
                "req_{:012x}{:012x}",
                now_ms & 0xffff_ffff_ffff,
                random & 0xffff_ffff_ffff
            )
        }
    }
}

fn request_id_header(request_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(1);
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(X_REQUEST_ID, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_clients_or_time_ordered_hex() {
        let mut theirs = HeaderMap::new();
        theirs.insert("x-request-id", HeaderValue::from_static("trace-42.a:b_c"));
        assert_eq!(request_id(&theirs), "trace-42.a:b_c");
        theirs.insert("x-request-id", HeaderValue::from_static("no spaces"));
        let ours = request_id(&theirs);
        assert_eq!(ours.len(), 28, "{ours}");
        assert!(ours.starts_with("req_"));
        assert!(ours[4..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

        let before_ms = crate::limits::now_ms();
        let first = request_id(&HeaderMap::new());
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = request_id(&HeaderMap::new());
        let time_of = |id: &str| u64::from_str_radix(&id[4..16], 16).unwrap_or(0);
        assert!(time_of(&first) >= before_ms & 0xffff_ffff_ffff);
        assert!(time_of(&second) > time_of(&first));
        assert!(second > first, "{first} then {second}");
        assert_ne!(first[16..], second[16..]);
    }
}

//! Access control (docs/http-api.md): the API token for `/v1/*`, the admin token for `/v1/stats/*`,
//! `/v1/admin/*`, `/v1/route/explain` and the request history (`/v1/requests`,
//! `/api/requests/*`); the web UI checks its own session cookie (`ui::session`); `/health` always open; `/metrics` open unless
//! `auth.protect_metrics`.
//!
//! A token may come as `Authorization: Bearer T`, `Authorization: T` or `x-api-key: T`.
//! Comparison is constant-time (`subtle`). Missing or wrong token: 401; a valid API token on
//! an admin route: 403. With no `admin_token` configured the API token is also the admin
//! token. With `auth.enabled` and no `api_token`, a token `sar-` + 32 url-safe characters is
//! generated once (`runtime::token`) and kept in the snapshot. The client's token is never forwarded upstream (the
//! upstream request is built from scratch in `upstream::client`).
//!
//! Named client keys (`auth.keys`) open the `/v1/*` API routes (never the admin ones). The
//! middleware finds the key, refuses it when disabled or expired (401), over a budget or its
//! rpm/tpm (429 with `Retry-After` and the limit named), and hands it to the proxy as a
//! [`ClientKey`] request extension (the proxy answers 403 for a model outside `allow`). Keys
//! are read from the snapshot of each request, so a reload that removes a key revokes it at
//! once.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::protocol_routes::error_for_path;
use crate::config::Secret;
use crate::limits::client_key::admit_key;
use crate::limits::ClientKey;
use crate::state::{AppState, KeyRing, Snapshot};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Open,
    Api,
    Admin,
}

fn access_of(path: &str, protect_metrics: bool) -> Access {
    if path == "/metrics" {
        return if protect_metrics {
            Access::Admin
        } else {
            Access::Open
        };
    }
    if path.starts_with("/v1/stats")
        || path.starts_with("/v1/admin")
        || path.starts_with("/v1/route/explain")
        || path.starts_with("/v1/requests")
        || path.starts_with("/api/requests")
    {
        Access::Admin
    } else if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/anthropic/") {
        Access::Api
    } else {
        Access::Open
    }
}

/// The token a request presents, if any.
fn presented(request: &Request) -> Option<&str> {
    let headers = request.headers();
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let token = strip_bearer(value.trim());
        if !token.is_empty() {
            return Some(token);
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The token of `Bearer T` (the scheme in any case, RFC 9110), else the whole value.
fn strip_bearer(value: &str) -> &str {
    match value.split_once(char::is_whitespace) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value,
    }
}

fn matches(token: &str, expected: Option<&Secret>) -> bool {
    expected.is_some_and(|e| bool::from(token.as_bytes().ct_eq(e.expose().as_bytes())))
}

/// The middleware.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(snapshot) = request.extensions().get::<Arc<Snapshot>>().cloned() else {
        return ApiError::internal("the request has no config snapshot").into_response();
    };
    let auth = &snapshot.config.auth;
    if !auth.enabled {
        return next.run(request).await;
    }
    let access = access_of(request.uri().path(), auth.protect_metrics);
    if access == Access::Open {
        return next.run(request).await;
    }
    let api = auth
        .api_token
        .as_ref()
        .or(snapshot.generated_token.as_deref());
    let admin = auth.admin_token.as_ref().or(api);
    let path = request.uri().path().to_owned();
    let Some(token) = presented(&request) else {
        let error = ApiError::unauthorized(
            "Missing API token: send it as `Authorization: Bearer <token>` (or `x-api-key`).",
        );
        return error_for_path(request.uri().path(), error).await;
    };
    let is_admin = matches(token, admin);
    let is_api = is_admin || matches(token, api);
    if access == Access::Api && !is_api && !auth.keys.is_empty() {
        let token = token.to_string();
        return with_client_key(&state, &snapshot, &token, request, next).await;
    }
    match access {
        Access::Admin if is_admin => next.run(request).await,
        Access::Admin if is_api => {
            ApiError::forbidden("This route needs the admin token (auth.admin_token).")
                .into_response()
        }
        Access::Api if is_api => next.run(request).await,
        _ => error_for_path(&path, ApiError::unauthorized("Invalid API token.")).await,
    }
}

/// A `/v1/*` request that may carry a named client key.
async fn with_client_key(
    state: &AppState,
    snapshot: &Snapshot,
    token: &str,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(key) = key_ring(state, snapshot).find(token) else {
        let error = ApiError::unauthorized("Invalid API token.");
        return error_for_path(request.uri().path(), error).await;
    };
    let spend = state.key_spend(&key.name);
    let now = chrono::Utc::now();
    let admitted = admit_key(&key, spend, &state.limits, now, crate::limits::now_ms());
    if let Err(refusal) = admitted {
        state.metrics.key_refused(&key.name);
        let message = refusal.message(&key.name);
        let error = match refusal.retry_after() {
            Some(wait) => ApiError::key_limited(message, wait),
            None => ApiError::unauthorized(message),
        };
        return error_for_path(request.uri().path(), error).await;
    }
    state.metrics.key_request(&key.name);
    request.extensions_mut().insert(key);
    next.run(request).await
}

/// The client keys of `snapshot`, built once per snapshot generation.
fn key_ring(state: &AppState, snapshot: &Snapshot) -> Arc<KeyRing> {
    if let Some(ring) = state.key_ring.load_full() {
        if ring.generation == snapshot.generation {
            return ring;
        }
    }
    let keys = &snapshot.config.auth.keys;
    let ring = Arc::new(KeyRing {
        generation: snapshot.generation,
        keys: keys.iter().cloned().map(ClientKey::new).collect(),
        configs: keys.clone(),
    });
    state.key_ring.store(Some(ring.clone()));
    ring
}

/// Whether `token` is the admin token of `snapshot` (the web UI's login checks it).
pub fn is_admin_token(snapshot: &Snapshot, token: &str) -> bool {
    let auth = &snapshot.config.auth;
    let api = auth
        .api_token
        .as_ref()
        .or(snapshot.generated_token.as_deref());
    matches(token, auth.admin_token.as_ref().or(api))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_access_levels() {
        assert_eq!(access_of("/health", false), Access::Open);
        assert_eq!(access_of("/health/readiness", true), Access::Open);
        assert_eq!(access_of("/metrics", false), Access::Open);
        assert_eq!(access_of("/metrics", true), Access::Admin);
        assert_eq!(access_of("/v1/chat/completions", false), Access::Api);
        assert_eq!(access_of("/v1/models", false), Access::Api);
        assert_eq!(access_of("/anthropic/v1/messages", false), Access::Api);
        assert_eq!(access_of("/v1/stats/daily", false), Access::Admin);
        assert_eq!(access_of("/v1/admin/discover", false), Access::Admin);
        assert_eq!(access_of("/v1/route/explain", false), Access::Admin);
        assert_eq!(access_of("/v1/requests", false), Access::Admin);
        assert_eq!(access_of("/api/requests/req_1", false), Access::Admin);
        assert_eq!(access_of("/requests", false), Access::Open);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(strip_bearer("Bearer t1"), "t1");
        assert_eq!(strip_bearer("BEARER  t1"), "t1");
        assert_eq!(strip_bearer("bearer\tt1"), "t1");
        assert_eq!(strip_bearer("t1"), "t1");
        assert_eq!(strip_bearer("Basic dXNlcg=="), "Basic dXNlcg==");
    }
}

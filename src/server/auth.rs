//! Access control (SPEC §10): the API token for `/v1/*`, the admin token for `/v1/stats/*`,
//! `/v1/admin/*`, `/v1/route/explain` and the request history (`/v1/requests`,
//! `/api/requests/*`); the web UI checks its own session cookie (`ui::session`); `/health` always open; `/metrics` open unless
//! `auth.protect_metrics`.
//!
//! A token may come as `Authorization: Bearer T`, `Authorization: T` or `x-api-key: T`.
//! Comparison is constant-time (`subtle`). Missing or wrong token: 401; a valid API token on
//! an admin route: 403. With no `admin_token` configured the API token is also the admin
//! token. With `auth.enabled` and no `api_token`, a token `sar-` + 32 url-safe characters is
//! generated once, saved to `<cache_dir>/api_token` (mode 0600) and printed on the start that
//! created it; later starts read it back. The client's token is never forwarded upstream (the
//! upstream request is built from scratch in `proxy::upstream`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::distr::{Alphanumeric, SampleString};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::config::Secret;
use crate::state::AppState;

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
    } else if path.starts_with("/v1/") || path == "/v1" {
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
    let snapshot = state.snapshot();
    let auth = &snapshot.config.auth;
    if !auth.enabled {
        return next.run(request).await;
    }
    let access = access_of(request.uri().path(), auth.protect_metrics);
    if access == Access::Open {
        return next.run(request).await;
    }
    let generated = state.generated_token.load_full();
    let api = auth.api_token.as_ref().or(generated.as_deref());
    let admin = auth.admin_token.as_ref().or(api);
    let Some(token) = presented(&request) else {
        return ApiError::unauthorized(
            "Missing API token: send it as `Authorization: Bearer <token>` (or `x-api-key`).",
        )
        .into_response();
    };
    let is_admin = matches(token, admin);
    let is_api = is_admin || matches(token, api);
    match access {
        Access::Admin if is_admin => next.run(request).await,
        Access::Admin if is_api => {
            ApiError::forbidden("This route needs the admin token (auth.admin_token).")
                .into_response()
        }
        Access::Api if is_api => next.run(request).await,
        _ => ApiError::unauthorized("Invalid API token.").into_response(),
    }
}

/// Whether `token` is the admin token (the web UI's login checks it).
pub fn is_admin_token(state: &AppState, token: &str) -> bool {
    let snapshot = state.snapshot();
    let auth = &snapshot.config.auth;
    let generated = state.generated_token.load_full();
    let api = auth.api_token.as_ref().or(generated.as_deref());
    matches(token, auth.admin_token.as_ref().or(api))
}

/// Load the generated API token from `<cache_dir>/api_token`, or create it (mode 0600).
/// Returns the token and whether it was created now.
pub fn load_or_generate_token(cache_dir: &Path) -> std::io::Result<(Secret, bool)> {
    let path = cache_dir.join("api_token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim();
        if token.starts_with("sar-") && token.len() >= 20 {
            return Ok((Secret::new(token), false));
        }
    }
    std::fs::create_dir_all(cache_dir)?;
    let token = format!("sar-{}", Alphanumeric.sample_string(&mut rand::rng(), 32));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok((Secret::new(token), true))
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

    #[test]
    fn generated_tokens_are_persisted_privately_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let (first, created) = load_or_generate_token(dir.path()).expect("generate");
        assert!(created);
        assert!(first.expose().starts_with("sar-"));
        assert_eq!(first.expose().len(), 36);
        let (again, created) = load_or_generate_token(dir.path()).expect("load");
        assert!(!created);
        assert_eq!(again, first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("api_token"))
                .map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600));
        }
    }
}

//! From raw files to a trusted [`Config`]: every range, reference and name checked once.
//! Channels are checked in `validate_channels`, routing in `validate_routing`; this file holds
//! the order of the checks, the shared [`Problems`] collector and the small sections.
//!
//! Rules decided across the three files (the docs names the checks, these are the details):
//! - channel ids match `[A-Za-z0-9_.-]{1,64}` and are unique; `provider` must be a key of
//!   providers.yaml; base URLs are absolute `http`/`https` URLs;
//! - a channel whose `api_key` (or another of its strings) names an unset variable, or whose
//!   provider needs a key and has none, is disabled with a reason, not an error;
//!   an unset variable under `auth` leaves that token unset; anywhere else it is an error;
//! - tags are trimmed and lower-cased, and may not be empty or contain `,` `!` `:` or spaces
//!   (they would not survive a query);
//! - timeouts, intervals and cooldowns are finite and > 0; prices and budgets finite and >= 0
//!   (budgets > 0); `alert_threshold` in (0, 1]; `max_attempts` in 1..=20;
//! - strategy weights are finite and >= 0 with a positive sum; fields are sub-score names
//!   (`cost_score` or `cost`); `default_strategy` must name a built-in or defined strategy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::ConfigErrors;
use super::interpolate::UnsetVariable;
use super::problems::{check_url, is_valid_id, Problems};
use super::raw::{RawProvider, RawProvidersFile, RawRouterConfig};
use super::scaling::Findings;
use super::validate_channels::validate_channels;
use super::validate_routing::validate_routing;
use super::ConnectionLimits;
use super::{
    AuthConfig, Config, CostControl, DiscoveryConfig, HistoryConfig, Provider, Secret,
    ServerConfig, UsageConfig,
};

pub(super) fn validate(
    raw: RawRouterConfig,
    providers_raw: RawProvidersFile,
    unset: &[UnsetVariable],
    router_file: &str,
    providers_file: &str,
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let providers = validate_providers(
        providers_raw,
        &mut Problems {
            file: providers_file,
            errors: &mut errors,
        },
    );
    let mut problems = Problems {
        file: router_file,
        errors: &mut errors,
    };
    let mut warnings = Vec::new();

    // Unset variables outside channels and auth are errors; inside, they disable or unset.
    for missing in unset {
        let path = &missing.key_path;
        if !path.starts_with("channels[") && !path.starts_with("auth.") {
            problems.push(
                path.clone(),
                format!(
                    "environment variable {} is not set (use ${{{}:-default}} for a fallback)",
                    missing.variable, missing.variable
                ),
            );
        }
    }

    let server = validate_server(&raw, &mut problems);
    let auth = validate_auth(&raw, unset);
    let channels = validate_channels(
        &raw.channels,
        &providers,
        unset,
        &mut problems,
        &mut warnings,
    );
    let routing = validate_routing(&raw.routing, &mut problems);
    let discovery = DiscoveryConfig {
        enabled: raw.discovery.enabled,
        interval: problems.positive_seconds("discovery.interval_s", raw.discovery.interval_s),
        timeout: problems.positive_seconds("discovery.timeout_s", raw.discovery.timeout_s),
        concurrency: at_least_one(
            &mut problems,
            "discovery.concurrency",
            raw.discovery.concurrency,
        ),
    };
    let usage = UsageConfig {
        enabled: raw.usage.enabled,
        dir: PathBuf::from(non_empty(&mut problems, "usage.dir", &raw.usage.dir)),
        queue_capacity: at_least_one(
            &mut problems,
            "usage.queue_capacity",
            raw.usage.queue_capacity,
        ),
    };
    let cost_control = validate_cost_control(&raw, &mut problems);
    let mut findings = Findings::default();
    let state = super::scaling::validate_state(&mut findings, &raw.state);
    let keys = super::scaling::validate_keys(&mut findings, &raw.auth.keys, unset, &mut warnings);
    super::scaling::report(&mut problems, findings);
    let auth = AuthConfig { keys, ..auth };
    let history = HistoryConfig {
        enabled: raw.history.enabled,
        path: PathBuf::from(non_empty(&mut problems, "history.path", &raw.history.path)),
        capture_bodies: raw.history.capture_bodies,
        search_bodies: raw.history.search_bodies,
        max_body_bytes: at_least_one(
            &mut problems,
            "history.max_body_bytes",
            raw.history.max_body_bytes,
        ),
        retention_days: raw.history.retention_days,
        spool_max_mb: at_least_one(
            &mut problems,
            "history.spool_max_mb",
            raw.history.spool_max_mb,
        ),
        url: super::scaling::validate_history_url(&mut problems, raw.history.url.as_deref()),
    };

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        server,
        auth,
        providers,
        channels,
        routing,
        discovery,
        usage,
        cost_control,
        state,
        history,
        warnings,
    })
}

fn non_empty(problems: &mut Problems<'_>, key_path: &str, value: &str) -> String {
    if value.trim().is_empty() {
        problems.push(key_path, "must not be empty");
    }
    value.trim().to_string()
}

fn at_least_one(problems: &mut Problems<'_>, key_path: &str, value: usize) -> usize {
    if value == 0 {
        problems.push(key_path, "must be at least 1");
        return 1;
    }
    value
}

fn validate_providers(
    raw: RawProvidersFile,
    problems: &mut Problems<'_>,
) -> BTreeMap<String, Arc<Provider>> {
    let mut providers = BTreeMap::new();
    for (key, provider) in raw.providers {
        let path = format!("providers.{key}");
        if !is_valid_id(&key) {
            problems.push(
                &path,
                "provider keys use only letters, digits, `_`, `.` and `-`",
            );
        }
        let RawProvider {
            base_url,
            auth,
            models_endpoint,
            format,
            is_local,
            name,
            headers,
            limits,
            model_limits,
            responses,
        } = provider;
        let headers = validate_headers(problems, &path, headers);
        let mut findings = Findings::default();
        let (limits, model_limits) =
            super::scaling::validate_limits(&mut findings, &path, limits, &model_limits);
        super::scaling::report(problems, findings);
        let base_url = check_url(problems, &format!("{path}.base_url"), &base_url);
        let models_endpoint = models_endpoint.unwrap_or_else(|| "/models".into());
        if !models_endpoint.starts_with('/') {
            problems.push(
                format!("{path}.models_endpoint"),
                format!("must start with `/`, got {models_endpoint:?}"),
            );
        }
        providers.insert(
            key.clone(),
            Arc::new(Provider {
                name: name.unwrap_or_else(|| key.clone()),
                key,
                base_url,
                auth,
                models_endpoint,
                format,
                is_local,
                headers,
                limits,
                model_limits,
                responses,
            }),
        );
    }
    providers
}

fn validate_headers(
    problems: &mut Problems<'_>,
    path: &str,
    headers: BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut valid = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        let ok = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(&value).is_ok();
        if !ok {
            problems.push(format!("{path}.headers.{name}"), "not a valid HTTP header");
        } else if matches!(
            name.as_str(),
            "authorization" | "x-api-key" | "content-length" | "host"
        ) {
            problems.push(
                format!("{path}.headers.{name}"),
                "is set by the gateway itself; use the channel's api_key",
            );
        } else {
            valid.push((name, value));
        }
    }
    valid
}

fn validate_server(raw: &RawRouterConfig, problems: &mut Problems<'_>) -> ServerConfig {
    let s = &raw.server;
    let host = non_empty(problems, "server.host", &s.host);
    if s.max_body_bytes < 1024 || s.max_body_bytes > 1 << 34 {
        problems.push(
            "server.max_body_bytes",
            format!(
                "must be between 1024 and 17179869184, got {}",
                s.max_body_bytes
            ),
        );
    }
    if s.workers > 256 {
        problems.push(
            "server.workers",
            format!(
                "must be between 0 (one per CPU core) and 256, got {}",
                s.workers
            ),
        );
    }
    ServerConfig {
        as_written: (host.clone(), s.port, s.workers),
        host,
        port: s.port,
        max_body_bytes: usize::try_from(s.max_body_bytes).unwrap_or(usize::MAX),
        cache_dir: PathBuf::from(non_empty(problems, "server.cache_dir", &s.cache_dir)),
        request_body_timeout: problems
            .positive_seconds("server.request_body_timeout_s", s.request_body_timeout_s),
        workers: match s.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n as usize,
        },
        connections: ConnectionLimits {
            header_read_timeout: problems
                .positive_seconds("server.header_read_timeout_s", s.header_read_timeout_s),
            idle_timeout: problems.positive_seconds("server.idle_timeout_s", s.idle_timeout_s),
            max_connections: s.max_connections as usize,
            shutdown_timeout: problems
                .positive_seconds("server.shutdown_timeout_s", s.shutdown_timeout_s),
        },
        max_buffered_answer_bytes: answer_budget_bytes(s, problems),
        busy_poll: busy_poll(s, problems),
    }
}

fn busy_poll(s: &super::raw::RawServer, problems: &mut Problems<'_>) -> std::time::Duration {
    if s.busy_poll_us > 10_000 {
        problems.push(
            "server.busy_poll_us",
            format!("must be between 0 (off) and 10000, got {}", s.busy_poll_us),
        );
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_micros(u64::from(s.busy_poll_us))
}

fn answer_budget_bytes(s: &super::raw::RawServer, problems: &mut Problems<'_>) -> usize {
    // Room for at least one error body (1 MiB).
    let min = 1024 * 1024;
    if s.max_buffered_answer_bytes < min {
        problems.push(
            "server.max_buffered_answer_bytes",
            format!(
                "must be at least {min}, got {}",
                s.max_buffered_answer_bytes
            ),
        );
    }
    usize::try_from(s.max_buffered_answer_bytes).unwrap_or(usize::MAX)
}

fn validate_auth(raw: &RawRouterConfig, unset: &[UnsetVariable]) -> AuthConfig {
    let token = |path: &str, value: &Option<String>| {
        let unset_here = unset.iter().any(|u| u.key_path == path);
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty() && !unset_here)
            .map(Secret::new)
    };
    AuthConfig {
        enabled: raw.auth.enabled,
        api_token: token("auth.api_token", &raw.auth.api_token),
        admin_token: token("auth.admin_token", &raw.auth.admin_token),
        protect_metrics: raw.auth.protect_metrics,
        allow_disable_on_reload: raw.auth.allow_disable_on_reload,
        keys: Vec::new(),
    }
}

fn validate_cost_control(raw: &RawRouterConfig, problems: &mut Problems<'_>) -> CostControl {
    let c = &raw.cost_control;
    if let Some(budget) = c.global_daily_budget {
        if !(budget.is_finite() && budget > 0.0) {
            problems.push(
                "cost_control.global_daily_budget",
                format!("must be a positive amount, got {budget}"),
            );
        }
    }
    if !(c.alert_threshold > 0.0 && c.alert_threshold <= 1.0) {
        problems.push(
            "cost_control.alert_threshold",
            format!("must be in (0, 1], got {}", c.alert_threshold),
        );
    }
    CostControl {
        global_daily_budget: c.global_daily_budget,
        alert_threshold: c.alert_threshold,
        auto_disable_on_budget_exceeded: c.auto_disable_on_budget_exceeded,
    }
}

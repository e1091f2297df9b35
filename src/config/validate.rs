//! From raw files to a trusted [`Config`]: every range, reference and name checked once.
//!
//! Rules decided here (the SPEC names the checks, these are the details):
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

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::{ConfigError, ConfigErrors};
use super::interpolate::UnsetVariable;
use super::raw::{
    AuthStyle, RawChannel, RawPrice, RawProvider, RawProvidersFile, RawRouterConfig, RawRouting,
};
use super::strategy::{builtin_strategies, Strategy, SubScore};
use super::ConnectionLimits;
use super::{
    AuthConfig, Channel, Config, CostControl, DiscoveryConfig, HistoryConfig, ModelFilters,
    PreparedRequest, Price, Provider, RoutingConfig, Secret, ServerConfig, UsageConfig,
};

/// Collects errors for one file.
struct Problems<'a> {
    file: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Problems<'_> {
    fn push(&mut self, key_path: impl Into<String>, message: impl Into<String>) {
        self.errors
            .push(ConfigError::new(self.file, key_path, message));
    }

    fn positive_seconds(&mut self, key_path: &str, seconds: f64) -> Duration {
        if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 {
            Duration::from_secs_f64(seconds)
        } else {
            self.push(
                key_path,
                format!("must be a positive number of seconds, got {seconds}"),
            );
            Duration::from_secs(1)
        }
    }

    fn non_negative(&mut self, key_path: &str, value: f64) -> f64 {
        if value.is_finite() && value >= 0.0 {
            value
        } else {
            self.push(key_path, format!("must be a number >= 0, got {value}"));
            0.0
        }
    }
}

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
    let history = HistoryConfig {
        enabled: raw.history.enabled,
        path: PathBuf::from(non_empty(&mut problems, "history.path", &raw.history.path)),
        capture_bodies: raw.history.capture_bodies,
        max_body_bytes: at_least_one(
            &mut problems,
            "history.max_body_bytes",
            raw.history.max_body_bytes,
        ),
        retention_days: raw.history.retention_days,
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
        } = provider;
        let headers = validate_headers(problems, &path, headers);
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

fn check_url(problems: &mut Problems<'_>, key_path: &str, url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {}
        Ok(parsed) => problems.push(
            key_path,
            format!(
                "must be an http or https URL, got scheme {:?}",
                parsed.scheme()
            ),
        ),
        Err(e) => problems.push(key_path, format!("not a URL ({e}): {trimmed:?}")),
    }
    trimmed.to_string()
}

/// `[A-Za-z0-9_.-]{1,64}`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
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
    }
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
    }
}

fn validate_channels(
    raw: &[RawChannel],
    providers: &BTreeMap<String, Arc<Provider>>,
    unset: &[UnsetVariable],
    problems: &mut Problems<'_>,
    warnings: &mut Vec<String>,
) -> Vec<Arc<Channel>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut channels = Vec::with_capacity(raw.len());
    for (index, channel) in raw.iter().enumerate() {
        let path = format!("channels[{index}]");
        if !is_valid_id(&channel.id) {
            problems.push(
                format!("{path}.id"),
                format!(
                    "{:?} is not a valid channel id: use 1 to 64 of A-Z a-z 0-9 _ . -",
                    channel.id
                ),
            );
        }
        if let Some(first) = seen.insert(&channel.id, index) {
            problems.push(
                format!("{path}.id"),
                format!(
                    "duplicate channel id {:?} (first used by channels[{first}])",
                    channel.id
                ),
            );
        }
        let Some(provider) = providers.get(&channel.provider) else {
            let known: Vec<&str> = providers.keys().map(String::as_str).collect();
            problems.push(
                format!("{path}.provider"),
                format!(
                    "unknown provider {:?}; providers.yaml defines: {}",
                    channel.provider,
                    known.join(", ")
                ),
            );
            continue;
        };
        if let Some(built) = build_channel(channel, &path, provider, unset, problems) {
            if let Some(reason) = &built.disabled_reason {
                if channel.enabled {
                    warnings.push(format!("channel {} disabled: {reason}", built.id));
                }
            }
            channels.push(Arc::new(built));
        }
    }
    channels
}

fn build_channel(
    raw: &RawChannel,
    path: &str,
    provider: &Arc<Provider>,
    unset: &[UnsetVariable],
    problems: &mut Problems<'_>,
) -> Option<Channel> {
    let base_url = match &raw.base_url {
        Some(url) => check_url(problems, &format!("{path}.base_url"), url),
        None => provider.base_url.clone(),
    };
    let prefix = format!("{path}.");
    let missing: Vec<&str> = unset
        .iter()
        .filter(|u| u.key_path.starts_with(&prefix))
        .map(|u| u.variable.as_str())
        .collect();
    let api_key = raw
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(Secret::new);
    let disabled_reason = if !raw.enabled {
        Some("enabled: false in the config".to_string())
    } else if !missing.is_empty() {
        Some(format!(
            "environment variable {} is not set",
            missing.join(", ")
        ))
    } else if api_key.is_none() && provider.auth != AuthStyle::None {
        Some(format!(
            "no api_key, and provider {} needs one",
            provider.key
        ))
    } else {
        None
    };

    let tags = validate_tags(problems, path, &raw.tags);
    let pricing = raw
        .pricing
        .map(|p| validate_price(problems, &format!("{path}.pricing"), p));
    let model_pricing = raw
        .model_pricing
        .iter()
        .map(|(model, p)| {
            let price = validate_price(problems, &format!("{path}.model_pricing.{model}"), *p);
            (model.clone(), price)
        })
        .collect();
    let timeout =
        problems.positive_seconds(&format!("{path}.timeout_s"), raw.timeout_s.unwrap_or(60.0));
    if let Some(budget) = raw.daily_budget {
        if !(budget.is_finite() && budget > 0.0) {
            problems.push(
                format!("{path}.daily_budget"),
                format!("must be a positive amount, got {budget}"),
            );
        }
    }
    for (standard, own) in &raw.model_aliases {
        if standard.trim().is_empty() || own.trim().is_empty() {
            problems.push(
                format!("{path}.model_aliases"),
                "alias names and targets must not be empty",
            );
        }
    }
    let prepared = PreparedRequest::new(&base_url, api_key.as_ref(), provider.auth);
    Some(Channel {
        prepared,
        id: raw.id.clone(),
        name: raw.name.clone().unwrap_or_else(|| raw.id.clone()),
        provider: provider.clone(),
        base_url,
        api_key,
        enabled: disabled_reason.is_none(),
        disabled_reason,
        tags,
        model_name: raw
            .model_name
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from),
        configured_models: raw
            .configured_models
            .iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect(),
        model_aliases: raw
            .model_aliases
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
        pricing,
        model_pricing,
        timeout,
        daily_budget: raw.daily_budget,
        priority: raw.priority,
        currency: raw
            .currency
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or("USD")
            .to_ascii_uppercase(),
    })
}

fn validate_tags(problems: &mut Problems<'_>, path: &str, raw: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for (i, tag) in raw.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.contains([',', '!', ':', ' ', '<', '>', '=']) {
            problems.push(
                format!("{path}.tags[{i}]"),
                format!(
                    "{tag:?} is not a usable tag: no empty tags, and none of , ! : < > = or spaces"
                ),
            );
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn validate_price(problems: &mut Problems<'_>, path: &str, raw: RawPrice) -> Price {
    Price {
        input: problems.non_negative(&format!("{path}.input"), raw.input),
        output: problems.non_negative(&format!("{path}.output"), raw.output),
        cached_input: raw
            .cached_input
            .map(|c| problems.non_negative(&format!("{path}.cached_input"), c)),
    }
}

fn validate_routing(raw: &RawRouting, problems: &mut Problems<'_>) -> RoutingConfig {
    if !(1..=20).contains(&raw.max_attempts) {
        problems.push(
            "routing.max_attempts",
            format!("must be between 1 and 20, got {}", raw.max_attempts),
        );
    }
    if raw.failure_threshold == 0 {
        problems.push("routing.failure_threshold", "must be at least 1");
    }
    let mut strategies = builtin_strategies();
    for (name, weights) in &raw.sorting_strategies {
        if let Some(strategy) = validate_strategy(problems, name, weights) {
            strategies.insert(name.clone(), strategy);
        }
    }
    let default_strategy = raw.default_strategy.trim().to_string();
    if !strategies.contains_key(&default_strategy) {
        let known: Vec<&str> = strategies.keys().map(String::as_str).collect();
        problems.push(
            "routing.default_strategy",
            format!(
                "unknown strategy {default_strategy:?}; known: {}",
                known.join(", ")
            ),
        );
    }
    let cooldown = problems.positive_seconds("routing.cooldown_s", raw.cooldown_s);
    let max_cooldown = problems.positive_seconds("routing.max_cooldown_s", raw.max_cooldown_s);
    let filters = &raw.model_filters;
    RoutingConfig {
        default_strategy,
        max_attempts: raw.max_attempts.clamp(1, 20),
        cooldown,
        max_cooldown: max_cooldown.max(cooldown),
        failure_threshold: raw.failure_threshold.max(1),
        auth_blacklist: problems.positive_seconds("routing.auth_blacklist_s", raw.auth_blacklist_s),
        quota_blacklist: problems
            .positive_seconds("routing.quota_blacklist_s", raw.quota_blacklist_s),
        model_filters: ModelFilters {
            min_context_length: filters.min_context_length,
            min_parameter_count: problems.non_negative(
                "routing.model_filters.min_parameter_count",
                filters.min_parameter_count,
            ),
            exclude_embedding_models: filters.exclude_embedding_models,
        },
        strategies,
    }
}

fn validate_strategy(
    problems: &mut Problems<'_>,
    name: &str,
    weights: &[super::raw::RawWeight],
) -> Option<Strategy> {
    let path = format!("routing.sorting_strategies.{name}");
    let mut pairs = Vec::with_capacity(weights.len());
    let mut ok = true;
    for (i, w) in weights.iter().enumerate() {
        match SubScore::from_field(&w.field) {
            Some(score) => pairs.push((score, w.weight)),
            None => {
                ok = false;
                let known: Vec<&str> = SubScore::ALL.iter().map(|s| s.field()).collect();
                problems.push(
                    format!("{path}[{i}].field"),
                    format!(
                        "unknown field {:?}; use one of: {}",
                        w.field,
                        known.join(", ")
                    ),
                );
            }
        }
        if !(w.weight.is_finite() && w.weight >= 0.0) {
            ok = false;
            problems.push(
                format!("{path}[{i}].weight"),
                format!("must be a number >= 0, got {}", w.weight),
            );
        }
    }
    let sum: f64 = pairs.iter().map(|(_, w)| w).sum();
    if ok && sum <= 0.0 {
        problems.push(&path, "needs at least one weight above 0");
        ok = false;
    }
    ok.then(|| Strategy::new(name, &pairs))
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

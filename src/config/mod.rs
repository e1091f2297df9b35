//! The validated configuration the rest of the gateway trusts (docs/config.md-3).
//!
//! Loading is two steps (TensorZero's habit): `raw` is the files exactly as written, `load`
//! reads them (figment, `SAR_` overrides, `${VAR}` interpolation) and `validate` turns them into
//! the [`Config`] below, reporting every problem at once with file, key path and line. Nothing
//! past this module re-checks a config value. A `Config` is immutable; a reload builds a new one.

pub mod envfile;
mod error;
pub mod file;
pub(crate) mod interpolate;
pub mod keys;
pub mod legacy;
mod legacy_notes;
mod legacy_providers;
mod load;
pub mod locate;
pub mod migrate;
mod problems;
pub mod raw;
mod scaling;
mod secret;
pub mod strategy;
mod validate;
mod validate_channels;
mod validate_routing;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors};
pub use load::{load_config, ConfigSource, BUILTIN_PROVIDERS};
pub use raw::{AuthStyle, WireFormat};
pub use secret::{url_without_credentials, Secret};

pub use strategy::{Strategy, SubScore};

/// Everything the gateway runs on.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub providers: BTreeMap<String, Arc<Provider>>,
    /// Every channel of the file, enabled or not, in file order.
    pub channels: Vec<Arc<Channel>>,
    pub routing: RoutingConfig,
    pub discovery: DiscoveryConfig,
    pub usage: UsageConfig,
    pub cost_control: CostControl,
    pub state: StateConfig,
    pub history: HistoryConfig,
    /// Non-fatal findings of loading (disabled channels and why), logged once at start.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn enabled_channels(&self) -> impl Iterator<Item = &Arc<Channel>> {
        self.channels.iter().filter(|c| c.enabled)
    }

    pub fn channel(&self, id: &str) -> Option<&Arc<Channel>> {
        self.channels.iter().find(|c| c.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
    pub cache_dir: PathBuf,
    pub request_body_timeout: Duration,
    /// Serving threads (at least 1; `server.workers: 0` in the file means one per core).
    pub workers: usize,
    /// Client connection limits (`server::connection`); fixed at start, like `workers`.
    pub connections: ConnectionLimits,
    /// Bytes of non-streamed upstream answers held at once across requests (fixed at start).
    pub max_buffered_answer_bytes: usize,
    /// How long a serving thread keeps polling after a request starts (`server::busy_poll`);
    /// zero: it parks at once (fixed at start).
    pub busy_poll: Duration,
    /// `host`, `port` and `workers` as the file says them, before command-line overrides:
    /// a reload compares these, so `--port` does not look like a change of the file.
    pub as_written: (String, u16, u32),
}

/// How long a client connection may take and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// 0: derived from the open-file limit when serving starts (`server::connection`).
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub enabled: bool,
    pub api_token: Option<Secret>,
    pub admin_token: Option<Secret>,
    pub protect_metrics: bool,
    pub allow_disable_on_reload: bool,
    /// Named client keys (`auth.keys`), in file order; keys whose token is unset are left out.
    pub keys: Vec<Arc<ClientKeyConfig>>,
}

/// One named client key.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientKeyConfig {
    pub name: String,
    /// Where the key is written (`auth.keys[2]`), for messages about it.
    pub key_path: String,
    pub token: KeyToken,
    pub daily_budget: Option<f64>,
    pub monthly_budget: Option<f64>,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    /// A query (`tag:free`, `tag:!gpt-4o`) bounding the models the key may reach.
    pub allow: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub disabled: bool,
}

/// How a client key's token is known.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyToken {
    Plain(Secret),
    /// SHA-256 of the token, so the file need not hold it.
    Sha256([u8; 32]),
}

/// Rate limits of a channel or one of its models (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    pub rpm: Option<u32>,
    pub rpd: Option<u32>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u32>,
}

impl RateLimits {
    pub fn is_unlimited(&self) -> bool {
        *self == RateLimits::default()
    }

    /// `self`, with each limit `other` sets replacing it.
    pub fn overridden_by(self, other: RateLimits) -> RateLimits {
        RateLimits {
            rpm: other.rpm.or(self.rpm),
            rpd: other.rpd.or(self.rpd),
            tpm: other.tpm.or(self.tpm),
            concurrency: other.concurrency.or(self.concurrency),
        }
    }
}

/// Where instances share state (`state:`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// `redis://...`; `None`: everything stays in process.
    pub redis_url: Option<Secret>,
    pub key_prefix: String,
    /// Longest wait for Redis on a request's path.
    pub timeout: Duration,
}

/// A provider kind from providers.yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub key: String,
    pub name: String,
    pub base_url: String,
    pub auth: AuthStyle,
    pub models_endpoint: String,
    pub format: WireFormat,
    pub is_local: bool,
    /// Extra headers for every request (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Published limits, the default of its channels.
    pub limits: RateLimits,
    pub model_limits: Vec<(String, RateLimits)>,
    /// Serves OpenAI's Responses API (`{base_url}/responses`).
    pub responses: bool,
}

/// Prices per 1M tokens in the channel's currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cached_input: Option<f64>,
    /// Per 1M input tokens written to the prompt cache (Anthropic: 1.25 × input).
    pub cache_write: Option<f64>,
}

impl Price {
    pub const FREE: Price = Price {
        input: 0.0,
        output: 0.0,
        cached_input: Some(0.0),
        cache_write: Some(0.0),
    };

    pub fn is_free(&self) -> bool {
        self.input == 0.0 && self.output == 0.0
    }

    /// One figure for ranking: a 3:1 input:output token mix, per 1M tokens.
    pub fn blended(&self) -> f64 {
        0.75 * self.input + 0.25 * self.output
    }
}

/// One configured channel: a provider, a base URL, a key, tags and prices.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub provider: Arc<Provider>,
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub enabled: bool,
    /// Why the channel is not serving, when `enabled` is false.
    pub disabled_reason: Option<String>,
    /// Lower-case, trimmed, deduplicated.
    pub tags: Vec<String>,
    pub model_name: Option<String>,
    pub configured_models: Vec<String>,
    /// Standard name (as clients ask) -> the channel's own model id.
    pub model_aliases: BTreeMap<String, String>,
    pub pricing: Option<Price>,
    pub model_pricing: BTreeMap<String, Price>,
    pub timeout: Duration,
    pub daily_budget: Option<f64>,
    pub priority: i32,
    pub currency: String,
    /// Limits of the channel as a whole (the provider's, then the channel's own).
    pub limits: RateLimits,
    /// Limits of single models: (exact id or `*suffix`, limits), the channel's after the
    /// provider's, so the last match wins.
    pub model_limits: Vec<(String, RateLimits)>,
    /// What every upstream request of this channel reuses, prepared with the config.
    pub prepared: PreparedRequest,
}

/// The parts of a channel's upstream requests that never change: parsed once when the config
/// is validated, so a request parses no URL and formats no header.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreparedRequest {
    /// `{base_url}/chat/completions`, `/completions`, `/embeddings`; `None` when it does not
    /// parse (an attempt on it then fails with a message naming the URL).
    pub chat_url: Option<http::Uri>,
    pub completions_url: Option<http::Uri>,
    pub embeddings_url: Option<http::Uri>,
    /// `{base_url}/messages`: the Messages API of `format: anthropic` providers.
    pub messages_url: Option<http::Uri>,
    /// `{base_url}/responses`: the Responses API of providers with `responses: true`.
    pub responses_url: Option<http::Uri>,
    /// The key in the provider's auth style, marked sensitive; `None` without a key, with
    /// `auth: none`, or when the key cannot be a header value.
    pub auth: Option<(http::HeaderName, http::HeaderValue)>,
    /// The provider's extra headers (validated with the config; one that does not parse is
    /// left out).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl PreparedRequest {
    pub fn new(
        base_url: &str,
        api_key: Option<&Secret>,
        auth: AuthStyle,
        headers: &[(String, String)],
    ) -> Self {
        // Parsed as a URL first (a host in any script becomes its ASCII form), then as the
        // URI the client sends.
        let url = |path: &str| {
            reqwest::Url::parse(&format!("{base_url}{path}"))
                .ok()
                .and_then(|url| url.as_str().parse::<http::Uri>().ok())
        };
        let header = |name: http::HeaderName, value: String| {
            let mut value = http::HeaderValue::from_str(&value).ok()?;
            value.set_sensitive(true);
            Some((name, value))
        };
        let auth = api_key.and_then(|key| match auth {
            AuthStyle::Bearer => header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", key.expose()),
            ),
            AuthStyle::XApiKey => header(
                http::HeaderName::from_static("x-api-key"),
                key.expose().to_string(),
            ),
            AuthStyle::None => None,
        });
        let headers = headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    http::HeaderName::from_bytes(name.as_bytes()).ok()?,
                    http::HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect();
        Self {
            chat_url: url("/chat/completions"),
            completions_url: url("/completions"),
            embeddings_url: url("/embeddings"),
            messages_url: url("/messages"),
            responses_url: url("/responses"),
            auth,
            headers,
        }
    }
}

impl Channel {
    pub fn is_local(&self) -> bool {
        self.provider.is_local
    }

    /// The `model_limits` entry that counts `model_id` (the last match): its pattern (an
    /// exact id counts that model alone; `*suffix` counts every matching model together) and
    /// its limits.
    pub fn limits_of_model(&self, model_id: &str) -> Option<(&str, RateLimits)> {
        self.model_limits
            .iter()
            .rev()
            .find(|(pattern, _)| match pattern.strip_prefix('*') {
                Some(suffix) => model_id.ends_with(suffix),
                None => pattern == model_id,
            })
            .map(|(pattern, limits)| (pattern.as_str(), *limits))
    }

    /// The API this channel's requests speak: `anthropic` (Messages at `/v1/messages`) for
    /// providers with `format: anthropic`, else `openai` (Ollama serves OpenAI's API too).
    pub fn format_name(&self) -> &'static str {
        match self.provider.format {
            WireFormat::Anthropic => "anthropic",
            WireFormat::Openai | WireFormat::Ollama => "openai",
        }
    }

    /// What discovery depends on: a change here means the model list must be fetched again.
    pub fn discovery_identity(&self) -> (String, String, Option<&str>) {
        (
            self.provider.key.clone(),
            self.base_url.clone(),
            self.api_key.as_ref().map(Secret::expose),
        )
    }
}

#[derive(Debug, Clone)]
pub struct RoutingConfig {
    pub default_strategy: String,
    pub max_attempts: u32,
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    pub failure_threshold: u32,
    pub auth_blacklist: Duration,
    pub quota_blacklist: Duration,
    pub model_filters: ModelFilters,
    /// Built-ins merged with the user's; always contains `default_strategy`.
    pub strategies: BTreeMap<String, Strategy>,
    /// The query for requests with no `model` (or `model: "auto"`) when no rule applies.
    pub default_model: Option<String>,
    /// Prompt-length rules for such requests, in file order; the first that matches applies.
    pub rules: Vec<RoutingRule>,
}

/// One `routing.rules` entry: a prompt-length range (inclusive bounds) and the query to use.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingRule {
    /// `name` from the file, else `rules[i]`; sent back in `x-router-rule`.
    pub name: String,
    pub min_prompt_tokens: Option<u64>,
    pub max_prompt_tokens: Option<u64>,
    /// A query such as `tag:free,<=14b` (checked to parse).
    pub model: String,
}

impl RoutingRule {
    /// Whether a prompt of `tokens` (as estimated for context fit) falls in this rule's range.
    pub fn matches(&self, tokens: u64) -> bool {
        self.min_prompt_tokens.is_none_or(|min| tokens >= min)
            && self.max_prompt_tokens.is_none_or(|max| tokens <= max)
    }
}

impl RoutingConfig {
    /// The query for a request without a model: the first matching rule's, else
    /// `default_model`; with the rule's name when a rule applied.
    pub fn model_for_prompt(&self, prompt_tokens: u64) -> Option<(&str, Option<&str>)> {
        match self.rules.iter().find(|r| r.matches(prompt_tokens)) {
            Some(rule) => Some((rule.model.as_str(), Some(rule.name.as_str()))),
            None => self.default_model.as_deref().map(|m| (m, None)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelFilters {
    pub min_context_length: u64,
    pub min_parameter_count: f64,
    pub exclude_embedding_models: bool,
}

#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    pub enabled: bool,
    pub interval: Duration,
    pub timeout: Duration,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct UsageConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    pub queue_capacity: usize,
}

/// The request history database (`history:`).
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    pub enabled: bool,
    pub path: PathBuf,
    /// Keep request and response bodies (redacted, truncated at `max_body_bytes`).
    pub capture_bodies: bool,
    /// Index the kept bodies' text for full-text search; false: a body is shown in the
    /// detail view but not searched (indexing is most of what storing a body costs).
    pub search_bodies: bool,
    pub max_body_bytes: usize,
    /// Rows older than this many days are deleted; 0 keeps them forever.
    pub retention_days: u32,
    /// Megabytes the spool (rows waiting to be stored, next to `path`) may hold; beyond it
    /// rows are dropped and counted.
    pub spool_max_mb: usize,
    /// `history.url`: PostgreSQL shared by every instance (history and usage records)
    /// instead of the SQLite file at `path`. Shown only through `url_without_credentials`.
    pub url: Option<Secret>,
}

impl HistoryConfig {
    /// The spool's folder: `path` with `.spool` appended (`data/history.db.spool`).
    pub fn spool_dir(&self) -> PathBuf {
        let mut dir = self.path.clone().into_os_string();
        dir.push(".spool");
        PathBuf::from(dir)
    }
}

#[derive(Debug, Clone)]
pub struct CostControl {
    pub global_daily_budget: Option<f64>,
    pub alert_threshold: f64,
    pub auto_disable_on_budget_exceeded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_requests_carry_parsed_urls_and_the_auth_header() {
        let key = Secret::new("sk-123");
        let bearer = PreparedRequest::new(
            "https://api.example.com/v1",
            Some(&key),
            AuthStyle::Bearer,
            &[],
        );
        assert_eq!(
            bearer.chat_url.as_ref().map(|u| u.to_string()).as_deref(),
            Some("https://api.example.com/v1/chat/completions")
        );
        assert_eq!(
            bearer
                .completions_url
                .as_ref()
                .map(|u| u.to_string())
                .as_deref(),
            Some("https://api.example.com/v1/completions")
        );
        assert_eq!(
            bearer
                .embeddings_url
                .as_ref()
                .map(|u| u.to_string())
                .as_deref(),
            Some("https://api.example.com/v1/embeddings")
        );
        let (name, value) = bearer.auth.expect("bearer header");
        assert_eq!(name, reqwest::header::AUTHORIZATION);
        assert_eq!(value.to_str().ok(), Some("Bearer sk-123"));
        assert!(value.is_sensitive());

        let x_api_key = PreparedRequest::new("http://h:1/v1", Some(&key), AuthStyle::XApiKey, &[]);
        let (name, value) = x_api_key.auth.expect("x-api-key header");
        assert_eq!(name.as_str(), "x-api-key");
        assert_eq!(value.to_str().ok(), Some("sk-123"));

        assert_eq!(
            PreparedRequest::new("http://h:1/v1", Some(&key), AuthStyle::None, &[]).auth,
            None
        );
        assert_eq!(
            PreparedRequest::new("http://h:1/v1", None, AuthStyle::Bearer, &[]).auth,
            None
        );
        // A key that cannot be a header value sends no auth header (as before).
        let bad = Secret::new("sk-\nbad");
        assert_eq!(
            PreparedRequest::new("http://h:1/v1", Some(&bad), AuthStyle::Bearer, &[]).auth,
            None
        );
    }
}

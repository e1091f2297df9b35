//! The configuration files exactly as written (docs/config.md-3): serde structs, defaults, nothing else.
//!
//! Every struct denies unknown keys, so a typo is an error that names the key. These types are
//! never used past loading: `config::validate` turns them into the trusted [`crate::config::Config`].
//! This module must never interpret a value (no interpolation, no range checks).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `config/providers.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvidersFile {
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
}

/// One provider kind: where it lives and how it speaks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub base_url: String,
    #[serde(default)]
    pub auth: AuthStyle,
    #[serde(default)]
    pub models_endpoint: Option<String>,
    #[serde(default)]
    pub format: WireFormat,
    #[serde(default)]
    pub is_local: bool,
    /// Display name; the key is used when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Extra headers sent on every request to this provider (e.g. `anthropic-version`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Published rate limits: the default of every channel of this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawLimits>,
    /// Limits of single models (exact id, or `*suffix` such as `*:free`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_limits: BTreeMap<String, RawLimits>,
    /// The provider serves OpenAI's Responses API at `{base_url}/responses`: Responses
    /// clients are passed through instead of translated to chat.
    #[serde(default)]
    pub responses: bool,
}

/// How a provider wants its API key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthStyle {
    #[default]
    Bearer,
    XApiKey,
    None,
}

/// The shape of a provider's model list (docs/config.md), and its request API: OpenAI's for `openai` and
/// `ollama`, Anthropic Messages for `anthropic` (see docs/protocols.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireFormat {
    #[default]
    Openai,
    Ollama,
    Anthropic,
}

/// `config/router_config.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouterConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
    #[serde(default)]
    pub routing: RawRouting,
    #[serde(default)]
    pub discovery: RawDiscovery,
    #[serde(default)]
    pub usage: RawUsage,
    #[serde(default)]
    pub cost_control: RawCostControl,
    #[serde(default, skip_serializing_if = "RawState::is_default")]
    pub state: RawState,
    #[serde(default)]
    pub history: RawHistory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: u64,
    /// Where discovery caches and the generated API token live.
    pub cache_dir: String,
    /// Seconds a client may take to send its whole request body.
    pub request_body_timeout_s: f64,
    /// Serving threads; 0: one per CPU core.
    pub workers: u32,
    /// Seconds a client may take to send a request head (also: to send anything at all on a
    /// new connection).
    pub header_read_timeout_s: f64,
    /// Seconds a connection may sit with no request in flight, or with an answer the client
    /// does not read, before it is closed.
    pub idle_timeout_s: f64,
    /// Open client connections across all workers; 0: derived from the open-file limit.
    pub max_connections: u32,
    /// Seconds SIGTERM waits for in-flight requests before closing what is left.
    pub shutdown_timeout_s: f64,
    /// Bytes of non-streamed upstream answers held in memory at once, across requests.
    pub max_buffered_answer_bytes: u64,
    /// Microseconds a serving thread keeps polling its sockets after a request starts instead
    /// of sleeping (lower latency on a quiet machine, for CPU); 0: off.
    pub busy_poll_us: u32,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7601,
            max_body_bytes: 10 * 1024 * 1024,
            cache_dir: "cache".into(),
            request_body_timeout_s: 30.0,
            workers: 0,
            header_read_timeout_s: 30.0,
            idle_timeout_s: 60.0,
            max_connections: 0,
            shutdown_timeout_s: 30.0,
            max_buffered_answer_bytes: 256 * 1024 * 1024,
            busy_poll_us: 0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    pub enabled: bool,
    pub api_token: Option<String>,
    pub admin_token: Option<String>,
    pub protect_metrics: bool,
    /// A reload may turn `enabled` from true to false only when this is true.
    pub allow_disable_on_reload: bool,
    /// Named client keys, each with its own budgets, rates and reach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<RawClientKey>,
}

/// One entry of `auth.keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientKey {
    pub name: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_sha256: Option<String>,
    #[serde(default)]
    pub daily_budget: Option<f64>,
    #[serde(default)]
    pub monthly_budget: Option<f64>,
    #[serde(default)]
    pub rpm: Option<u32>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub allow: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

/// Rate limits of a channel or model: requests per minute and per day, tokens per minute,
/// requests in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default)]
    pub rpm: Option<u32>,
    #[serde(default)]
    pub rpd: Option<u32>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub concurrency: Option<u32>,
}

/// `state:`: where several instances share their state (Redis); absent: in process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawState {
    pub redis_url: Option<String>,
    pub key_prefix: String,
    /// Longest wait for Redis on a request's path, in milliseconds.
    pub timeout_ms: u64,
}

impl RawState {
    fn is_default(&self) -> bool {
        self.redis_url.is_none() && self.key_prefix == "sar:" && self.timeout_ms == 5
    }
}

impl Default for RawState {
    fn default() -> Self {
        Self {
            redis_url: None,
            key_prefix: "sar:".into(),
            timeout_ms: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub provider: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default)]
    pub configured_models: Vec<String>,
    #[serde(default)]
    pub model_aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub pricing: Option<RawPrice>,
    #[serde(default)]
    pub model_pricing: BTreeMap<String, RawPrice>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
    #[serde(default)]
    pub daily_budget: Option<f64>,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub currency: Option<String>,
    /// The channel's own rate limits (over the provider's published ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RawLimits>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_limits: BTreeMap<String, RawLimits>,
}

fn yes() -> bool {
    true
}

/// Prices in the channel's currency per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Per 1M input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRouting {
    pub default_strategy: String,
    pub max_attempts: u32,
    pub cooldown_s: f64,
    pub max_cooldown_s: f64,
    pub failure_threshold: u32,
    pub auth_blacklist_s: f64,
    pub quota_blacklist_s: f64,
    pub model_filters: RawModelFilters,
    pub sorting_strategies: BTreeMap<String, Vec<RawWeight>>,
    /// The query used when a request has no `model` (or `model: "auto"`) and no rule applies.
    pub default_model: Option<String>,
    /// Prompt-length rules for requests without a model, tried in order.
    pub rules: Vec<RawRule>,
}

/// `routing.rules[]`: `{name?, when: {max_prompt_tokens?, min_prompt_tokens?}, model}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default)]
    pub name: Option<String>,
    pub when: RawRuleWhen,
    pub model: String,
}

/// The condition of a rule; both bounds are inclusive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRuleWhen {
    pub max_prompt_tokens: Option<u64>,
    pub min_prompt_tokens: Option<u64>,
}

impl Default for RawRouting {
    fn default() -> Self {
        Self {
            default_strategy: "cost_first".into(),
            max_attempts: 3,
            cooldown_s: 30.0,
            max_cooldown_s: 600.0,
            failure_threshold: 3,
            auth_blacklist_s: 3600.0,
            quota_blacklist_s: 1800.0,
            model_filters: RawModelFilters::default(),
            sorting_strategies: BTreeMap::new(),
            default_model: None,
            rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawModelFilters {
    pub min_context_length: u64,
    pub min_parameter_count: f64,
    pub exclude_embedding_models: bool,
}

impl Default for RawModelFilters {
    fn default() -> Self {
        Self {
            min_context_length: 0,
            min_parameter_count: 0.0,
            exclude_embedding_models: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeight {
    pub field: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDiscovery {
    pub enabled: bool,
    pub interval_s: f64,
    pub timeout_s: f64,
    pub concurrency: usize,
}

impl Default for RawDiscovery {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_s: 21600.0,
            timeout_s: 15.0,
            concurrency: 8,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUsage {
    pub enabled: bool,
    pub dir: String,
    pub queue_capacity: usize,
}

impl Default for RawUsage {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: "logs".into(),
            queue_capacity: 65536,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCostControl {
    pub global_daily_budget: Option<f64>,
    pub alert_threshold: f64,
    pub auto_disable_on_budget_exceeded: bool,
}

impl Default for RawCostControl {
    fn default() -> Self {
        Self {
            global_daily_budget: None,
            alert_threshold: 0.8,
            auto_disable_on_budget_exceeded: false,
        }
    }
}

/// `history:`: the request history database (what each call sent, answered and cost).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHistory {
    pub enabled: bool,
    pub path: String,
    pub capture_bodies: bool,
    /// Whether full-text search reads the bodies (false: they are kept, not indexed).
    pub search_bodies: bool,
    pub max_body_bytes: usize,
    pub retention_days: u32,
    /// Megabytes of rows the spool may hold while they wait to be stored.
    pub spool_max_mb: usize,
    /// `postgres://user:password@host:port/db`: the history and the usage records in
    /// PostgreSQL, shared by every instance; unset: the SQLite file at `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Default for RawHistory {
    fn default() -> Self {
        Self {
            enabled: true,
            path: "data/history.db".into(),
            capture_bodies: true,
            search_bodies: true,
            max_body_bytes: 65536,
            retention_days: 30,
            spool_max_mb: 1024,
            url: None,
        }
    }
}

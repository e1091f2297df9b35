//! The original (Python) router's config: it loads and serves, each legacy key is mapped or
//! reported as ignored, `migrate` writes an equivalent new-format directory, and every unknown
//! key or wrong type of the new format is reported in one run with its line and the closest
//! valid key.

// `Jail::expect_with` closures return figment's large error type; that is its API, not ours.
#![expect(
    clippy::result_large_err,
    reason = "figment's Jail closures return its large error type"
)]

use std::path::Path;

use figment::Jail;
use serde_json::json;
use smart_ai_router::config::ConfigSource;
use smart_ai_router::query::load_config;

use crate::support::{MockUpstream, TestGateway};

/// An original-format router_config.yaml as its template shipped it (providers inside the
/// file, base URLs without /v1, per-token prices, legacy routing and tasks keys), with four
/// channels. `BASE` is replaced by a mock upstream's `http://127.0.0.1:PORT`.
const ORIGINAL: &str = r#"# Smart AI Router configuration
system:
  name: "Smart AI Router"
  version: "0.1.0"
  description: "personal AI router"
  storage_mode: "yaml"

server:
  host: "0.0.0.0"
  port: 7601
  debug: false
  cors_origins: ["*"]
  request_timeout: 300
  max_request_size: 10485760

auth:
  enabled: false
  admin:
    enabled: true
    admin_token: "legacy-admin-token-0123456789"

providers:
  burn_hair:
    name: "burn_hair"
    display_name: "Burn Hair"
    adapter_class: "OpenAIAdapter"
    base_url: "BASE"
    auth_type: "bearer"
    rate_limit: 60
    capabilities: ["text", "function_calling", "code_generation"]
  groq:
    name: "groq"
    display_name: "Groq"
    adapter_class: "OpenAIAdapter"
    base_url: "BASE"
    auth_type: "bearer"
    rate_limit: 30
    capabilities: ["text", "function_calling"]

channels:
  - id: "burn_hair_gpt4o_mini"
    name: "Burn Hair GPT-4O Mini"
    provider: "burn_hair"
    model_name: "gpt-4o-mini"
    api_key: "sk-burnhair-0123456789abcdef"
    enabled: true
    priority: 1
    weight: 100
    tags: ["cost-effective", "gpt-4o-mini"]
    daily_limit: 1000
    cost_per_token:
      input: 0.00000015
      output: 0.0000006
    capabilities: ["text", "function_calling", "code_generation"]

  - id: "burn_hair_gpt4o"
    name: "Burn Hair GPT-4O"
    provider: "burn_hair"
    model_name: "gpt-4o"
    api_key: "sk-burnhair-0123456789abcdef"
    enabled: false
    priority: 2
    weight: 80
    daily_limit: 500
    pricing:
      input_cost_per_1k: 0.0025
      output_cost_per_1k: 0.01

  - id: "groq_llama3_8b"
    name: "Groq Llama3.1 8B"
    provider: "groq"
    model_name: "llama-3.1-8b-instant"
    api_key: "gsk_groq0123456789abcdef"
    enabled: true
    priority: 1
    weight: 120
    min_request_interval: 2
    cost_per_token:
      input: 0.0000001
      output: 0.0000001
    performance:
      avg_latency_ms: 300

  - id: "groq_qwen_cny"
    name: "Groq Qwen (CNY prices)"
    provider: "groq"
    model_name: "qwen-2.5-32b"
    api_key: "gsk_groq0123456789abcdef"
    pricing:
      input_cost_per_1k: 0.002
      output_cost_per_1k: 0.008
    currency_exchange:
      from: "CNY"
      to: "USD"
      rate: 0.14

routing:
  default_strategy: "cost_first"
  enable_fallback: true
  max_retry_attempts: 4
  health_check_interval: 300
  error_cooldown_period: 60
  model_filters:
    min_context_length: 0
    min_parameter_count: 0
    exclude_embedding_models: true
    exclude_vision_only_models: true
  sorting_strategies:
    my_cheap:
      - field: "cost_score"
        weight: 0.7
        order: "desc"
      - field: "speed_score"
        weight: 0.3
        order: "desc"
  error_handling:
    permanent_errors: ["quota_exceeded", "invalid_api_key"]
    cooldown_periods:
      rate_limit_exceeded: 60

caching:
  enable_response_cache: false
  cache_ttl: 3600

monitoring:
  enable_metrics: true
  log_level: "INFO"

cost_control:
  global_daily_budget: 100.0
  alert_threshold: 0.8
  auto_disable_on_budget_exceeded: true
  currency: "USD"

model_groups:
  fast: ["groq_llama3_8b"]

clean_thinking_chains: true

tasks:
  model_discovery:
    enabled: false
    interval_hours: 6
    run_on_startup: true
  pricing_discovery:
    enabled: true
    interval_hours: 12
  health_check:
    enabled: true
    interval_minutes: 30
  cache_cleanup:
    enabled: true
    interval_hours: 24
"#;

/// An original config dir: only router_config.yaml (the providers are inside it), verbatim.
fn original_dir(root: &Path, base: &str) -> ConfigSource {
    original_dir_with(root, base, false)
}

/// As `original_dir`; `temp_paths`: cache and logs go into `root` (the file is rewritten, so
/// its lines move).
fn original_dir_with(root: &Path, base: &str, temp_paths: bool) -> ConfigSource {
    let dir = root.join("old");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut text = ORIGINAL.replace("BASE", base);
    if temp_paths {
        text = crate::support::gateway::with_temp_paths(root, &text);
    }
    std::fs::write(dir.join("router_config.yaml"), text).expect("write");
    ConfigSource::new(dir)
}

#[test]
fn the_original_config_loads_with_each_legacy_key_mapped_or_explained() {
    Jail::expect_with(|jail| {
        let source = original_dir(jail.directory(), "http://127.0.0.1:9");
        let config = load_config(&source).expect("the original's config loads");
        assert_eq!(config.routing.max_attempts, 4);
        assert_eq!(config.routing.cooldown.as_secs(), 60);
        assert_eq!(config.server.max_body_bytes, 10_485_760);
        assert!(!config.discovery.enabled);
        assert_eq!(config.discovery.interval.as_secs(), 21_600);
        assert_eq!(
            config
                .auth
                .admin_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            Some("legacy-admin-token-0123456789".into())
        );
        let burn = config
            .providers
            .get("burn_hair")
            .expect("provider from the router file");
        assert_eq!(burn.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(burn.name, "Burn Hair");
        assert_eq!(config.channels.len(), 4);
        let mini = config.channel("burn_hair_gpt4o_mini").expect("channel");
        let price = mini.pricing.expect("price");
        assert_eq!((price.input, price.output), (0.15, 0.6));
        assert_eq!(mini.timeout.as_secs(), 300);
        let gpt4o = config.channel("burn_hair_gpt4o").expect("channel");
        assert!(!gpt4o.enabled);
        let p = gpt4o.pricing.expect("price");
        assert_eq!((p.input, p.output), (2.5, 10.0));
        let qwen = config.channel("groq_qwen_cny").expect("channel");
        let p = qwen.pricing.expect("price");
        assert_eq!(
            (p.input, p.output, qwen.currency.as_str()),
            (0.28, 1.12, "USD")
        );
        assert!(config.routing.strategies.contains_key("my_cheap"));

        let warnings: Vec<String> = config
            .warnings
            .iter()
            .map(|w| w.replace(&source.dir.display().to_string(), "DIR"))
            .collect();
        assert_eq!(
            warnings,
            [
            "DIR/router_config.yaml:23: providers.burn_hair: a provider declared in the router config (the original's place): added to providers.yaml's, base_url + /v1 (2 places)",
            "DIR/router_config.yaml:29: providers.burn_hair.rate_limit: ignored: no client-side rate limit; a 429 starts a cooldown (2 places)",
            "DIR/router_config.yaml:30: providers.burn_hair.capabilities: ignored: capabilities come from the model name and the provider's model list (2 places)",
            "DIR/router_config.yaml:2: system: ignored: the original's name/version/storage settings mean nothing here",
            "DIR/router_config.yaml:125: monitoring: ignored: metrics are always served at /metrics; set the log level with RUST_LOG",
            "DIR/router_config.yaml:121: caching: ignored: answers are never cached",
            "DIR/router_config.yaml:135: model_groups: ignored: use tag queries such as `model: \"tag:free,qwen3\"` instead of groups",
            "DIR/router_config.yaml:138: clean_thinking_chains: ignored: answers are passed through unchanged",
            "DIR/router_config.yaml:14: server.max_request_size: the original router's key; read as `server.max_body_bytes`",
            "DIR/router_config.yaml:12: server.cors_origins: ignored: no CORS headers are sent; serve browser clients through a reverse proxy",
            "DIR/router_config.yaml:11: server.debug: ignored: set RUST_LOG=debug for debug logs",
            "DIR/router_config.yaml:13: server.request_timeout: the original router's key; read as `channels[*].timeout_s (each channel without one)`",
            "DIR/router_config.yaml:20: auth.admin.admin_token: the original router's key; read as `auth.admin_token`",
            "DIR/router_config.yaml:19: auth.admin.enabled: ignored: admin routes need the admin token whenever auth.enabled is true",
            "DIR/router_config.yaml:100: routing.max_retry_attempts: the original router's key; read as `routing.max_attempts`",
            "DIR/router_config.yaml:99: routing.enable_fallback: ignored: failover is always on; routing.max_attempts bounds it",
            "DIR/router_config.yaml:102: routing.error_cooldown_period: the original router's key; read as `routing.cooldown_s`",
            "DIR/router_config.yaml:101: routing.health_check_interval: ignored: channel health is learned from real calls, with no probe traffic",
            "DIR/router_config.yaml:116: routing.error_handling: ignored: the gateway classifies errors itself; tune routing.cooldown_s, auth_blacklist_s and quota_blacklist_s",
            "DIR/router_config.yaml:107: routing.model_filters.exclude_vision_only_models: ignored: chat routes already skip models that cannot chat",
            "DIR/router_config.yaml:112: routing.sorting_strategies.my_cheap[0].order: ignored: every score is higher-is-better, so no order is needed (2 places)",
            "DIR/router_config.yaml:141: tasks.model_discovery: the original router's key; read as `discovery.enabled and discovery.interval_s`",
            "DIR/router_config.yaml:145: tasks.pricing_discovery: ignored: prices come from discovery and the built-in price list",
            "DIR/router_config.yaml:148: tasks.health_check: ignored: channel health is learned from real calls, with no probe traffic",
            "DIR/router_config.yaml:151: tasks.cache_cleanup: ignored: the discovery cache is one file per channel and needs no cleanup",
            "DIR/router_config.yaml:133: cost_control.currency: ignored: budgets are in USD; prices in another currency are converted per channel",
            "DIR/router_config.yaml:48: channels[0].weight: ignored: candidates are ranked by the routing strategy; use priority to prefer a channel (3 places)",
            "DIR/router_config.yaml:50: channels[0].daily_limit: ignored: request counts are not capped; use daily_budget for a cost cap (2 places)",
            "DIR/router_config.yaml:54: channels[0].capabilities: ignored: capabilities come from the model name and the provider's model list",
            "DIR/router_config.yaml:51: channels[0].cost_per_token: the original router's key; read as `pricing (per 1M tokens: per-token prices × 1,000,000)` (2 places)",
            "DIR/router_config.yaml:65: channels[1].pricing: the original router's key; read as `pricing.input/output (per 1M tokens: per-1k prices × 1,000)` (2 places)",
            "DIR/router_config.yaml:77: channels[2].min_request_interval: ignored: requests are not paced; a 429 starts a cooldown instead",
            "DIR/router_config.yaml:81: channels[2].performance: ignored: latency and success rates are measured from real calls",
            "DIR/router_config.yaml:92: channels[3].currency_exchange: the original router's key; read as prices × its `rate`, and `currency` set to its `to`",
            "DIR/providers.yaml not found: using the built-in provider list with the providers of DIR/router_config.yaml",
            ]
        );
        Ok(())
    });
}

#[tokio::test]
async fn the_original_config_serves_through_its_providers() {
    let upstream = MockUpstream::start(&["gpt-4o-mini", "llama-3.1-8b-instant"]).await;
    let dir = tempfile::tempdir().expect("dir");
    let old = original_dir_with(dir.path(), &format!("http://{}", upstream.addr), true);
    std::fs::rename(&old.dir, dir.path().join("config")).expect("move into config/");
    let gateway = TestGateway::start_in(dir).await;
    let answer = gateway.chat("gpt-4o-mini").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["x-router-channel"].to_str().ok(),
        Some("burn_hair_gpt4o_mini")
    );
    let recorded = upstream.completions();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].json()["model"], json!("gpt-4o-mini"));
    gateway.stop().await;
}

#[test]
fn migrate_writes_an_equivalent_directory_with_keys_in_secrets_env() {
    Jail::expect_with(|jail| {
        let old = original_dir(jail.directory(), "http://127.0.0.1:9");
        let new = jail.directory().join("new");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = smart_ai_router::cli::migrate(&old.dir, &new, &mut out, &mut err);
        let out = String::from_utf8_lossy(&out);
        assert_eq!(code, 0, "{out}\n{}", String::from_utf8_lossy(&err));
        assert!(out.contains("4 API key(s) moved to secrets.env"), "{out}");
        assert!(out.contains("configuration is valid"), "{out}");

        let router = std::fs::read_to_string(new.join("router_config.yaml")).expect("router");
        assert!(router.starts_with("# Migrated from "), "{router}");
        assert!(router.contains("#   - routing.max_retry_attempts: the original router's key; read as `routing.max_attempts`"), "{router}");
        assert!(router.contains("# A channel = a provider"), "{router}");
        assert!(
            router.contains("api_key: ${SAR_KEY_BURN_HAIR_GPT4O_MINI}"),
            "{router}"
        );
        assert!(
            !router.contains("sk-burnhair"),
            "a key was written into the YAML"
        );
        let secrets = std::fs::read_to_string(new.join("secrets.env")).expect("secrets");
        assert!(secrets.contains("SAR_KEY_GROQ_LLAMA3_8B=gsk_groq0123456789abcdef"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(new.join("secrets.env"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let before = load_config(&old).expect("old loads");
        let after = load_config(&ConfigSource::new(&new)).expect("new loads");
        assert!(after.warnings.is_empty(), "{:#?}", after.warnings);
        assert_eq!(after.routing.max_attempts, before.routing.max_attempts);
        assert_eq!(after.routing.cooldown, before.routing.cooldown);
        assert_eq!(after.discovery.enabled, before.discovery.enabled);
        assert_eq!(after.channels.len(), before.channels.len());
        for (a, b) in after.channels.iter().zip(&before.channels) {
            assert_eq!(
                a.as_ref(),
                b.as_ref(),
                "channel {} differs after migrate",
                a.id
            );
        }
        assert_eq!(
            after.providers.get("burn_hair"),
            before.providers.get("burn_hair")
        );
        // Migrating twice into the same place refuses to overwrite.
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            smart_ai_router::cli::migrate(&old.dir, &new, &mut out, &mut err),
            1
        );
        assert!(String::from_utf8_lossy(&err).contains("already exists"));
        Ok(())
    });
}

#[test]
fn every_unknown_key_and_wrong_type_is_reported_in_one_run() {
    Jail::expect_with(|jail| {
        let router = r#"server:
  hots: 127.0.0.1
  port: "not a port"
channels:
  - id: a
    provider: mock
    api_key: k
    tagz: [x]
    pricing: { input: 1, outptu: 2 }
  - id: b
    provider: mock
    priorty: 3
routing:
  max_attempt: 3
  default_strategy: cost_first
  rules:
    - when: { max_prompt_tokenz: 10 }
      model: tag:free
discovery: { enabled: maybe }
colour: blue
"#;
        let config = crate::support::write_config_as_is(jail.directory(), router);
        let source = ConfigSource::new(&config);
        let errors: Vec<String> = load_config(&source)
            .expect_err("invalid")
            .0
            .iter()
            .map(|e| e.to_string().replace(&config.display().to_string(), "DIR"))
            .collect();
        assert_eq!(
            errors,
            vec![
                "DIR/router_config.yaml:2: server.hots: unknown key `hots`; did you mean `host`?",
                "DIR/router_config.yaml:3: server.port: invalid type: string \"not a port\", expected u16",
                "DIR/router_config.yaml:8: channels[0].tagz: unknown key `tagz`; did you mean `tags`?",
                "DIR/router_config.yaml:9: channels[0].pricing.outptu: unknown key `outptu`; did you mean `output`?",
                "DIR/router_config.yaml:12: channels[1].priorty: unknown key `priorty`; did you mean `priority`?",
                "DIR/router_config.yaml:14: routing.max_attempt: unknown key `max_attempt`; did you mean `max_attempts`?",
                "DIR/router_config.yaml:17: routing.rules[0].when.max_prompt_tokenz: unknown key `max_prompt_tokenz`; did you mean `max_prompt_tokens`?",
                "DIR/router_config.yaml:19: discovery.enabled: invalid type: string \"maybe\", expected a boolean",
                "DIR/router_config.yaml:20: colour: unknown key `colour`; valid keys: server, auth, channels, routing, discovery, usage, cost_control, state, history",
            ]
        );
        Ok(())
    });
}

#[test]
fn default_model_and_prompt_rules_are_validated() {
    Jail::expect_with(|jail| {
        let router = r#"routing:
  default_model: "tag:free"
  rules:
    - { name: short, when: { max_prompt_tokens: 2000 }, model: "tag:free,<=14b" }
    - { when: { min_prompt_tokens: 2000 }, model: "tag:ctx>=128k" }
"#;
        let config = crate::support::write_config_as_is(jail.directory(), router);
        let loaded = load_config(&ConfigSource::new(&config)).expect("valid");
        let routing = &loaded.routing;
        assert_eq!(routing.default_model.as_deref(), Some("tag:free"));
        assert_eq!(
            routing.model_for_prompt(10),
            Some(("tag:free,<=14b", Some("short")))
        );
        assert_eq!(
            routing.model_for_prompt(5000),
            Some(("tag:ctx>=128k", Some("rules[1]")))
        );

        let bad = r#"routing:
  default_model: auto
  rules:
    - { when: {}, model: "tag:free" }
    - { when: { min_prompt_tokens: 9, max_prompt_tokens: 1 }, model: "tag:" }
"#;
        std::fs::write(config.join("router_config.yaml"), bad).expect("r");
        let errors: Vec<String> = load_config(&ConfigSource::new(&config))
            .expect_err("invalid")
            .0
            .iter()
            .map(|e| format!("{}: {}", e.key_path, e.message))
            .collect();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert_eq!(errors[0], "routing.default_model: must be a query such as `tag:free` (`auto` is what it replaces)");
        assert_eq!(
            errors[1],
            "routing.rules[0].when: needs max_prompt_tokens or min_prompt_tokens (or both)"
        );
        assert_eq!(
            errors[2],
            "routing.rules[1].when: min_prompt_tokens (9) is above max_prompt_tokens (1)"
        );
        // Queries are parsed once the rest of the config is valid (the query language sits
        // above the config layer).
        let bad_query =
            "routing:\n  rules:\n    - { when: { min_prompt_tokens: 9 }, model: \"tag:\" }\n";
        std::fs::write(config.join("router_config.yaml"), bad_query).expect("r");
        let errors = load_config(&ConfigSource::new(&config))
            .expect_err("invalid")
            .0;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key_path, "routing.rules[0].model");
        assert!(
            errors[0]
                .message
                .starts_with("\"tag:\" is not a usable model query"),
            "{}",
            errors[0].message
        );
        Ok(())
    });
}

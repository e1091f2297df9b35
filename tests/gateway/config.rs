//! Config loading (docs/config.md-3): good files, every kind of bad file with its exact error text,
//! `${VAR}` interpolation, `SAR_` overrides, `check` exit codes.
//!
//! Every test runs inside `figment::Jail`, which serialises environment changes, so tests that
//! set variables cannot leak them into each other.

// `Jail::expect_with` closures return figment's large error type; that is its API, not ours.
#![expect(
    clippy::result_large_err,
    reason = "figment's Jail closures return its large error type"
)]

use std::path::Path;

use figment::Jail;
use smart_ai_router::config::{load_config, ConfigSource, WireFormat};

fn write(dir: &Path, router: &str) -> ConfigSource {
    write_both(dir, crate::support::TEST_PROVIDERS, router)
}

fn write_both(dir: &Path, providers: &str, router: &str) -> ConfigSource {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    std::fs::write(config.join("providers.yaml"), providers).expect("write providers");
    std::fs::write(config.join("router_config.yaml"), router).expect("write router");
    ConfigSource::new(config)
}

/// The errors of loading, one string per error, with the temp dir replaced by `DIR`.
fn errors_of(source: &ConfigSource) -> Vec<String> {
    let dir = source.dir.display().to_string();
    match load_config(source) {
        Ok(_) => vec![],
        Err(errors) => errors
            .0
            .iter()
            .map(|e| e.to_string().replace(&dir, "DIR"))
            .collect(),
    }
}

const GOOD: &str = r#"
server: { host: 127.0.0.1, port: 7777 }
channels:
  - id: main.cloud-1
    name: Main
    provider: mock
    base_url: http://127.0.0.1:8081/v1/
    api_key: ${TEST_GOOD_KEY}
    tags: [Free, " Cloud ", free]
    configured_models: [a-model, " b-model "]
    model_aliases: { Doubao-1.5-Pro-256k: ep-20250203083646-2szv9 }
    pricing: { input: 0.5, output: 1.5 }
    model_pricing: { gpt-4o-mini: { input: 0.15, output: 0.6, cached_input: 0.075 } }
    timeout_s: 12.5
    daily_budget: 5
    priority: 2
  - id: local
    provider: mock_local
routing:
  default_strategy: mine
  sorting_strategies:
    mine: [{ field: cost_score, weight: 0.5 }, { field: speed, weight: 0.5 }]
"#;

#[test]
fn a_good_config_loads_into_typed_values() {
    Jail::expect_with(|jail| {
        jail.set_env("TEST_GOOD_KEY", "sk-good");
        let source = write(jail.directory(), GOOD);
        let config = load_config(&source).map_err(|e| e.to_string())?;
        assert_eq!(config.server.port, 7777);
        assert_eq!(config.channels.len(), 2);
        let main = &config.channels[0];
        assert_eq!(main.id, "main.cloud-1");
        assert_eq!(main.name, "Main");
        assert!(main.enabled);
        assert_eq!(main.base_url, "http://127.0.0.1:8081/v1");
        assert_eq!(main.api_key.as_ref().map(|k| k.expose()), Some("sk-good"));
        assert_eq!(main.tags, vec!["free", "cloud"]);
        assert_eq!(main.configured_models, vec!["a-model", "b-model"]);
        assert_eq!(
            main.model_aliases
                .get("doubao-1.5-pro-256k")
                .map(String::as_str),
            Some("ep-20250203083646-2szv9")
        );
        assert_eq!(main.pricing.map(|p| (p.input, p.output)), Some((0.5, 1.5)));
        assert_eq!(
            main.model_pricing
                .get("gpt-4o-mini")
                .and_then(|p| p.cached_input),
            Some(0.075)
        );
        assert_eq!(main.timeout.as_millis(), 12_500);
        assert_eq!(main.daily_budget, Some(5.0));
        assert_eq!(main.priority, 2);
        assert_eq!(main.currency, "USD");
        let local = &config.channels[1];
        assert!(local.enabled, "a local provider needs no key");
        assert!(local.is_local());
        assert_eq!(local.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(local.provider.format, WireFormat::Openai);
        assert_eq!(config.routing.default_strategy, "mine");
        assert_eq!(config.routing.strategies.len(), 8);
        assert!(config.warnings.is_empty());
        // The key never shows in a debug print of the config.
        assert!(!format!("{config:?}").contains("sk-good"));
        Ok(())
    });
}

#[test]
fn an_unset_key_variable_disables_the_channel_with_one_warning() {
    Jail::expect_with(|jail| {
        let source = write(jail.directory(), GOOD);
        let config = load_config(&source).map_err(|e| e.to_string())?;
        let main = &config.channels[0];
        assert!(!main.enabled);
        assert_eq!(
            main.disabled_reason.as_deref(),
            Some("environment variable TEST_GOOD_KEY is not set")
        );
        assert_eq!(
            config.warnings,
            vec!["channel main.cloud-1 disabled: environment variable TEST_GOOD_KEY is not set"]
        );
        assert!(config.channels[1].enabled);
        Ok(())
    });
}

#[test]
fn defaults_and_interpolation_defaults_apply() {
    Jail::expect_with(|jail| {
        jail.set_env("TEST_HOST", "0.0.0.0");
        let router = r#"
server: { host: "${TEST_HOST}", cache_dir: "${TEST_CACHE:-/tmp/sar-cache}" }
channels:
  - { id: a, provider: mock, api_key: "${TEST_A_KEY:-sk-default}" }
  - { id: b, provider: mock }
  - { id: c, provider: mock, api_key: x, enabled: false }
"#;
        let config = load_config(&write(jail.directory(), router)).map_err(|e| e.to_string())?;
        assert_eq!(config.server.host, "0.0.0.0");
        assert_eq!(config.server.port, 7601);
        assert_eq!(config.server.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(
            config.server.cache_dir.display().to_string(),
            "/tmp/sar-cache"
        );
        assert_eq!(config.routing.default_strategy, "cost_first");
        assert_eq!(config.routing.max_attempts, 3);
        assert_eq!(config.routing.cooldown.as_secs(), 30);
        assert_eq!(config.discovery.interval.as_secs(), 21600);
        assert_eq!(config.discovery.concurrency, 8);
        assert_eq!(config.usage.dir.display().to_string(), "logs");
        assert_eq!(config.cost_control.alert_threshold, 0.8);
        assert!(config.routing.model_filters.exclude_embedding_models);
        assert_eq!(
            config.channels[0].api_key.as_ref().map(|k| k.expose()),
            Some("sk-default")
        );
        assert_eq!(
            config.channels[1].disabled_reason.as_deref(),
            Some("no api_key, and provider mock needs one")
        );
        assert_eq!(
            config.channels[2].disabled_reason.as_deref(),
            Some("enabled: false in the config")
        );
        // Only channels enabled in the file but unable to serve are warned about.
        assert_eq!(config.warnings.len(), 1);
        Ok(())
    });
}

#[test]
fn environment_overrides_win_over_the_file() {
    Jail::expect_with(|jail| {
        jail.set_env("SAR_SERVER__PORT", "8088");
        jail.set_env("SAR_ROUTING__MAX_ATTEMPTS", "5");
        jail.set_env("SAR_COST_CONTROL__GLOBAL_DAILY_BUDGET", "12.5");
        jail.set_env("SAR_LOG", "debug"); // no `__`: not an override, ignored
        let router = "server: { port: 7000 }\nrouting: { max_attempts: 2 }\n";
        let config = load_config(&write(jail.directory(), router)).map_err(|e| e.to_string())?;
        assert_eq!(config.server.port, 8088);
        assert_eq!(config.routing.max_attempts, 5);
        assert_eq!(config.cost_control.global_daily_budget, Some(12.5));
        Ok(())
    });
}

#[test]
fn a_bad_environment_override_names_the_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("SAR_SERVER__PORT", "not-a-port");
        let source = write(jail.directory(), "server: { port: 7000 }\n");
        assert_eq!(
            errors_of(&source),
            vec![
                r#"environment (SAR_SERVER__PORT): server.port: invalid type: found string "not-a-port", expected u16"#
            ]
        );
        Ok(())
    });
}

#[test]
fn an_unknown_key_names_the_key_the_file_and_the_line() {
    Jail::expect_with(|jail| {
        let router = "server:\n  port: 7601\n  hots: x\n";
        assert_eq!(
            errors_of(&write(jail.directory(), router)),
            vec!["DIR/router_config.yaml:3: server.hots: unknown key `hots`; did you mean `host`?"]
        );
        let router = "channels:\n  - id: a\n    provider: mock\n    api_key: k\n    tagz: [x]\n";
        assert_eq!(
            errors_of(&write(jail.directory(), router)),
            vec!["DIR/router_config.yaml:5: channels[0].tagz: unknown key `tagz`; did you mean `tags`?"]
        );
        Ok(())
    });
}

#[test]
fn a_wrong_type_and_a_syntax_error_carry_their_line() {
    Jail::expect_with(|jail| {
        let router = "channels:\n  - id: a\n    provider: mock\n    tags: 5\n";
        assert_eq!(
            errors_of(&write(jail.directory(), router)),
            vec!["DIR/router_config.yaml:4: channels[0].tags: invalid type: integer `5`, expected a sequence"]
        );
        let router = "channels:\n  - id: a\n   provider: x\n";
        assert_eq!(
            errors_of(&write(jail.directory(), router)),
            vec!["DIR/router_config.yaml:3: did not find expected '-' indicator, while parsing a block collection at line 2 column 3"]
        );
        Ok(())
    });
}

#[test]
fn validation_reports_every_problem_at_once() {
    Jail::expect_with(|jail| {
        let router = r#"
channels:
  - { id: "bad id!", provider: mock, api_key: k }
  - { id: dup, provider: nope, api_key: k }
  - { id: dup, provider: mock, api_key: k, timeout_s: 0, tags: ["a,b"], pricing: { input: -1, output: 1 } }
routing:
  default_strategy: fastest
  max_attempts: 0
  sorting_strategies:
    mine: [{ field: latency, weight: 1 }]
    zero: [{ field: cost, weight: 0 }]
discovery: { timeout_s: -5, concurrency: 0 }
cost_control: { alert_threshold: 1.5, global_daily_budget: 0 }
history: { spool_max_mb: 0 }
"#;
        assert_eq!(
            errors_of(&write(jail.directory(), router)),
            vec![
                r#"DIR/router_config.yaml: channels[0].id: "bad id!" is not a valid channel id: use 1 to 64 of A-Z a-z 0-9 _ . -"#,
                r#"DIR/router_config.yaml: channels[1].provider: unknown provider "nope"; providers.yaml defines: mock, mock_local, mock_ollama, mock_xkey"#,
                r#"DIR/router_config.yaml: channels[2].id: duplicate channel id "dup" (first used by channels[1])"#,
                r#"DIR/router_config.yaml: channels[2].tags[0]: "a,b" is not a usable tag: no empty tags, and none of , ! : < > = or spaces"#,
                "DIR/router_config.yaml: channels[2].pricing.input: must be a number >= 0, got -1",
                "DIR/router_config.yaml: channels[2].timeout_s: must be a positive number of seconds, got 0",
                "DIR/router_config.yaml: routing.max_attempts: must be between 1 and 20, got 0",
                r#"DIR/router_config.yaml: routing.sorting_strategies.mine[0].field: unknown field "latency"; use one of: cost_score, parameter_score, context_score, speed_score, reliability_score, quality_score, free_score, local_score"#,
                "DIR/router_config.yaml: routing.sorting_strategies.zero: needs at least one weight above 0",
                r#"DIR/router_config.yaml: routing.default_strategy: unknown strategy "fastest"; known: balanced, cost_first, cost_optimized, free_first, local_first, quality_optimized, speed_optimized"#,
                "DIR/router_config.yaml: discovery.timeout_s: must be a positive number of seconds, got -5",
                "DIR/router_config.yaml: discovery.concurrency: must be at least 1",
                "DIR/router_config.yaml: cost_control.global_daily_budget: must be a positive amount, got 0",
                "DIR/router_config.yaml: cost_control.alert_threshold: must be in (0, 1], got 1.5",
                "DIR/router_config.yaml: history.spool_max_mb: must be at least 1",
            ]
        );
        Ok(())
    });
}

#[test]
fn provider_file_errors_name_the_provider_file() {
    Jail::expect_with(|jail| {
        let providers = "providers:\n  x: { base_url: 'ftp://h/v1' }\n  y: { base_url: 'http://h', models_endpoint: models }\n  z: { base_url: 'http://h', auth: basic }\n";
        let errors = errors_of(&write_both(jail.directory(), providers, "{}"));
        assert_eq!(
            errors,
            vec!["DIR/providers.yaml:4: providers.z.auth: unknown value `basic`; use one of: bearer, x-api-key, none"]
        );
        let providers = "providers:\n  x: { base_url: 'ftp://h/v1' }\n  y: { base_url: 'http://h', models_endpoint: models }\n";
        assert_eq!(
            errors_of(&write_both(jail.directory(), providers, "{}")),
            vec![
                r#"DIR/providers.yaml: providers.x.base_url: must be an http or https URL, got scheme "ftp""#,
                r#"DIR/providers.yaml: providers.y.models_endpoint: must start with `/`, got "models""#,
            ]
        );
        Ok(())
    });
}

#[test]
fn unset_variables_outside_channels_are_errors_and_missing_files_are_named() {
    Jail::expect_with(|jail| {
        let source = write(jail.directory(), "server: { host: '${TEST_NO_HOST}' }\n");
        assert_eq!(
            errors_of(&source),
            vec!["DIR/router_config.yaml: server.host: environment variable TEST_NO_HOST is not set (use ${TEST_NO_HOST:-default} for a fallback)", "DIR/router_config.yaml: server.host: must not be empty"]
        );
        let missing = ConfigSource::new(jail.directory().join("nowhere"));
        let errors = errors_of(&missing);
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0].starts_with("DIR/providers.yaml: cannot read: "),
            "{}",
            errors[0]
        );
        Ok(())
    });
}

#[test]
fn check_exits_0_on_a_valid_config_and_1_on_an_invalid_one() {
    Jail::expect_with(|jail| {
        let source = write(jail.directory(), GOOD);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(smart_ai_router::cli::check(&source, &mut out, &mut err), 0);
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("channels: 1 enabled, 1 disabled"), "{out}");
        assert!(
            out.contains("disabled  main.cloud-1  environment variable TEST_GOOD_KEY is not set"),
            "{out}"
        );

        let source = write(jail.directory(), "routing: { max_attempts: 0 }\n");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(smart_ai_router::cli::check(&source, &mut out, &mut err), 1);
        let err = String::from_utf8_lossy(&err);
        assert!(
            err.starts_with("configuration is invalid (1 problem):\n"),
            "{err}"
        );
        assert!(
            err.contains("routing.max_attempts: must be between 1 and 20, got 0"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn the_shipped_config_is_valid_with_no_keys() {
    Jail::expect_with(|_jail| {
        let shipped = ConfigSource::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"));
        let config = load_config(&shipped).map_err(|e| e.to_string())?;
        let enabled: Vec<&str> = config.enabled_channels().map(|c| c.id.as_str()).collect();
        for local in ["ollama_local", "lmstudio_local"] {
            assert!(enabled.contains(&local), "{enabled:?}");
        }
        for provider in [
            "openai",
            "openrouter",
            "groq",
            "siliconflow",
            "deepseek",
            "together",
            "zhipu",
            "doubao",
            "moonshot",
            "dashscope",
            "anthropic",
            "ollama",
            "lmstudio",
        ] {
            assert!(
                config.providers.contains_key(provider),
                "{provider} missing"
            );
        }
        assert!(config.providers["ollama"].is_local && config.providers["lmstudio"].is_local);
        Ok(())
    });
}

#[test]
fn busy_polling_is_off_by_default_and_bounded() {
    Jail::expect_with(|jail| {
        let channels = "channels: [{ id: a, provider: mock, api_key: x }]\n";
        let config = load_config(&write(jail.directory(), channels)).map_err(|e| e.to_string())?;
        assert_eq!(config.server.busy_poll, std::time::Duration::ZERO);
        let on = format!("server: {{ busy_poll_us: 150 }}\n{channels}");
        let config = load_config(&write(jail.directory(), &on)).map_err(|e| e.to_string())?;
        assert_eq!(config.server.busy_poll.as_micros(), 150);
        let too_long = format!("server: {{ busy_poll_us: 20000 }}\n{channels}");
        assert_eq!(
            errors_of(&write(jail.directory(), &too_long)),
            vec!["DIR/router_config.yaml: server.busy_poll_us: must be between 0 (off) and 10000, got 20000"]
        );
        Ok(())
    });
}

#[test]
fn a_channel_priced_in_another_currency_is_warned_about() {
    Jail::expect_with(|jail| {
        let router = "discovery: { enabled: false }\nchannels:\n  - { id: cn, provider: mock, base_url: \"http://127.0.0.1:9/v1\", api_key: sk-cn-0123456789, currency: cny, configured_models: [m], pricing: { input: 2, output: 8 } }\n";
        let source = write(jail.directory(), router);
        let config = load_config(&source).map_err(|e| e.to_string())?;
        assert_eq!(config.channels[0].currency, "CNY");
        assert_eq!(
            config.warnings,
            vec!["channels[0].currency: CNY — records carry the cost in CNY, but statistics, budgets and the dashboard count USD only: this channel's costs are left out of them (other_currency_requests counts its calls); give its prices in USD to have them counted"]
        );
        Ok(())
    });
}

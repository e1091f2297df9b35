//! A realistic catalog for query and ranking tests: five channels built from real provider
//! model lists (OpenRouter, SiliconFlow, Groq, an Ollama server) and configured ones.

use std::collections::HashMap;
use std::sync::Arc;

use smart_ai_router::catalog::{Catalog, ChannelModelList, ModelKind, ModelSource};
use smart_ai_router::config::{load_config, Config, ConfigSource, ModelFilters};
use smart_ai_router::discovery::parse::{parse_model_list, ResponseFormat};
use smart_ai_router::query::{parse_query, resolve, Needs, NoMatch, Resolution};

pub const CATALOG_CONFIG: &str = r#"
channels:
  - { id: openrouter, provider: mock, api_key: k }
  - { id: siliconflow, provider: mock, api_key: k, tags: [china] }
  - { id: groq, provider: mock, api_key: k, tags: [fast] }
  - { id: ollama, provider: mock_local }
  - id: doubao
    provider: mock
    api_key: k
    tags: [china]
    configured_models: [doubao-seed-1-6-251015]
    model_aliases: { doubao-1.5-pro-256k: ep-20250203083646-2szv9 }
  - id: anthropic
    provider: mock
    api_key: k
    configured_models: [claude-3-haiku-20240307, claude-sonnet-4-5-20250929]
"#;

fn sample(file: &str, format: ResponseFormat) -> Arc<ChannelModelList> {
    let path = format!("{}/tests/data/discovery/{file}", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(&path).expect("sample file");
    let models = parse_model_list(format, &body).expect("sample parses");
    Arc::new(ChannelModelList {
        models,
        source: ModelSource::Api,
    })
}

static REALISTIC: std::sync::LazyLock<(Config, Catalog)> =
    std::sync::LazyLock::new(build_realistic);

/// The config and catalog of [`CATALOG_CONFIG`], built once per test binary.
pub fn realistic_catalog() -> &'static (Config, Catalog) {
    &REALISTIC
}

fn build_realistic() -> (Config, Catalog) {
    let dir = tempfile::tempdir().expect("temp dir");
    super::write_config(dir.path(), CATALOG_CONFIG);
    let config = load_config(&ConfigSource::new(dir.path().join("config"))).expect("config loads");
    let mut lists = HashMap::new();
    lists.insert(
        "openrouter".to_string(),
        sample("openrouter_2025-07.json", ResponseFormat::OpenAi),
    );
    lists.insert(
        "siliconflow".to_string(),
        sample("siliconflow.json", ResponseFormat::OpenAi),
    );
    lists.insert(
        "groq".to_string(),
        sample("groq.json", ResponseFormat::OpenAi),
    );
    lists.insert(
        "ollama".to_string(),
        sample("ollama_api_tags.json", ResponseFormat::Ollama),
    );
    let catalog = Catalog::build(&config, &lists);
    (config, catalog)
}

/// Resolve `query` for a chat route with the config's filters.
pub fn resolve_chat(
    config: &Config,
    catalog: &Catalog,
    query: &str,
) -> Result<Resolution, NoMatch> {
    resolve_for(config, catalog, query, ModelKind::Chat, None)
}

pub fn resolve_for(
    config: &Config,
    catalog: &Catalog,
    query: &str,
    kind: ModelKind,
    context_tokens: Option<u64>,
) -> Result<Resolution, NoMatch> {
    let parsed = parse_query(query).map_err(|e| NoMatch { message: e.message })?;
    let needs = Needs {
        kind,
        filters: &config.routing.model_filters,
        context_tokens,
    };
    resolve(catalog, query, &parsed, &needs, true)
}

pub fn with_filters(
    catalog: &Catalog,
    query: &str,
    filters: &ModelFilters,
) -> Result<Resolution, NoMatch> {
    let parsed = parse_query(query).map_err(|e| NoMatch { message: e.message })?;
    let needs = Needs {
        kind: ModelKind::Chat,
        filters,
        context_tokens: None,
    };
    resolve(catalog, query, &parsed, &needs, false)
}

/// `channel/model` of each candidate, sorted.
pub fn names(catalog: &Catalog, resolution: &Resolution) -> Vec<String> {
    let mut names: Vec<String> = resolution
        .candidates
        .iter()
        .filter_map(|id| catalog.entry(*id))
        .map(|e| format!("{}/{}", e.channel.id, e.model_id))
        .collect();
    names.sort();
    names
}

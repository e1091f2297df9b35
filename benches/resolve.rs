//! Routing decision cost: parse the `model` string, resolve it against the catalog, rank the
//! candidates (with live health figures read from a `ChannelHealth` that knows every entry),
//! over a 4,000-entry catalog of real model ids (`tests/data/model_names.txt`, every third id)
//! spread over four channels the way a real config is: an aggregator with prices and contexts,
//! a `china` channel, a `fast` channel, and a local one. Target: ≤ 10 µs per decision.
//!
//! Queries: a three-tag query with a negative, a name query that several channels serve, one
//! that matches nothing (the 404 path, message included), and a broad one (every paid model of
//! a 1,000-model channel: the worst case of ranking, for scale).
#![expect(
    clippy::expect_used,
    reason = "a benchmark's setup may stop on a broken fixture"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use smart_ai_router::catalog::{Catalog, ChannelModelList, ModelKind, ModelSource};
use smart_ai_router::config::{load_config, Config, ConfigSource};
use smart_ai_router::discovery::parse::DiscoveredModel;
use smart_ai_router::health::ChannelHealth;
use smart_ai_router::query::{parse_query, resolve, Needs};
use smart_ai_router::scoring::rank;

const ENTRIES: usize = 4_000;
const CHANNELS: [&str; 4] = ["aggregator", "china", "fast", "local"];

const PROVIDERS: &str = r#"
providers:
  mock: { base_url: "http://127.0.0.1:9/v1", auth: bearer, format: openai }
  mock_local: { base_url: "http://127.0.0.1:9/v1", auth: none, format: openai, is_local: true }
"#;

const ROUTER: &str = r#"
server: { cache_dir: CACHE }
usage: { dir: LOGS }
discovery: { enabled: false }
channels:
  - { id: aggregator, provider: mock, api_key: k }
  - { id: china, provider: mock, api_key: k, tags: [china] }
  - { id: fast, provider: mock, api_key: k, tags: [fast] }
  - { id: local, provider: mock_local }
"#;

/// xorshift64*: deterministic prices and contexts.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn model(id: &str, rng: &mut Rng, priced: bool) -> DiscoveredModel {
    let price = |rng: &mut Rng| priced.then(|| rng.below(3000) as f64 / 100.0);
    DiscoveredModel {
        id: id.to_string(),
        context_tokens: priced.then(|| [8_192, 32_768, 131_072, 200_000][rng.below(4) as usize]),
        params_b: None,
        active_params_b: None,
        input_per_1m: price(rng),
        output_per_1m: price(rng),
        cached_input_per_1m: None,
        kind_hint: None,
        raw: Value::Null,
    }
}

/// The config and a 4,000-entry catalog (ids shared round-robin by the four channels).
pub fn catalog() -> (Config, Catalog) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).expect("config dir");
    std::fs::write(config_dir.join("providers.yaml"), PROVIDERS).expect("providers");
    let router = ROUTER
        .replace("CACHE", &dir.path().join("cache").display().to_string())
        .replace("LOGS", &dir.path().join("logs").display().to_string());
    std::fs::write(config_dir.join("router_config.yaml"), router).expect("router config");
    let config = load_config(&ConfigSource::new(&config_dir)).expect("config loads");
    let names = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/model_names.txt"
    ))
    .expect("model names");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut models: HashMap<&str, Vec<DiscoveredModel>> = HashMap::new();
    for (i, name) in names
        .lines()
        .filter(|l| !l.trim().is_empty())
        .step_by(3)
        .take(ENTRIES)
        .enumerate()
    {
        let channel = CHANNELS[i % CHANNELS.len()];
        let priced = channel != "local" && rng.below(10) != 0;
        models
            .entry(channel)
            .or_default()
            .push(model(name, &mut rng, priced));
    }
    let lists: HashMap<String, Arc<ChannelModelList>> = models
        .into_iter()
        .map(|(channel, models)| {
            let list = ChannelModelList {
                models,
                source: ModelSource::Api,
            };
            (channel.to_string(), Arc::new(list))
        })
        .collect();
    let catalog = Catalog::build(&config, &lists);
    assert_eq!(catalog.entries.len(), ENTRIES, "every id is an entry");
    (config, catalog)
}

/// parse → resolve → rank, as the proxy does it; the number of ranked candidates.
fn decide(config: &Config, catalog: &Catalog, health: &ChannelHealth, model: &str) -> usize {
    let Ok(query) = parse_query(model) else {
        return 0;
    };
    let needs = Needs {
        kind: ModelKind::Chat,
        filters: &config.routing.model_filters,
        context_tokens: Some(600),
    };
    let strategy = &config.routing.strategies[&config.routing.default_strategy];
    match resolve(catalog, model, &query, &needs, false) {
        Ok(resolution) => {
            let live = health.live_board();
            rank(catalog, &resolution.candidates, strategy, &|entry| {
                live.scores(&entry.health_key)
            })
            .len()
        }
        Err(no_match) => no_match.message.len(),
    }
}

fn bench(c: &mut Criterion) {
    let (config, catalog) = catalog();
    // Steady state: every entry has served once, so every health lookup finds an entry.
    let health = ChannelHealth::new();
    for entry in &catalog.entries {
        health.record_success(&entry.health_key, Some(350.0), Some(80.0));
    }
    let queries = [
        ("3 tags + negative", "tag:qwen,instruct,!free"),
        ("name, several channels", "llama-3.1-8b-instruct"),
        ("no match", "tag:qwen,embedding-only-nonexistent"),
        ("broad: 1 tag + negative", "tag:china,!free"),
    ];
    for (label, model) in queries {
        eprintln!(
            "{label} ({model}): {} candidates ranked (or message bytes)",
            decide(&config, &catalog, &health, model)
        );
    }
    let mut group = c.benchmark_group("decide/4000 entries");
    for (label, model) in queries {
        group.bench_function(label, |b| {
            b.iter(|| black_box(decide(&config, &catalog, &health, black_box(model))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

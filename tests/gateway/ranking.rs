//! Ranking (docs/ranking.md) on the realistic catalog: each strategy really orders the candidates,
//! ties break by priority, channel id and model id, and live figures move a candidate.

use crate::support::catalog::*;
use smart_ai_router::catalog::{Catalog, CatalogEntry};
use smart_ai_router::config::Config;
use smart_ai_router::scoring::{rank, LiveScores, Strategy, SubScore};

fn ranked_with(
    query: &str,
    strategy: &Strategy,
    live: &dyn Fn(&CatalogEntry) -> LiveScores,
) -> Vec<(String, f64)> {
    let (config, catalog) = realistic_catalog();
    let resolution =
        resolve_chat(config, catalog, query).unwrap_or_else(|e| panic!("{}", e.message));
    rank(catalog, &resolution.candidates, strategy, live)
        .iter()
        .filter_map(|r| {
            let e = catalog.entry(r.entry)?;
            Some((
                format!("{}/{}", e.channel.id, e.model_id),
                (r.score * 1e6).round() / 1e6,
            ))
        })
        .collect()
}

fn strategy(config: &Config, name: &str) -> Strategy {
    config.routing.strategies[name].clone()
}

fn order(query: &str, name: &str) -> Vec<String> {
    let (config, _) = realistic_catalog();
    ranked_with(query, &strategy(config, name), &|_| LiveScores::NEUTRAL)
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

fn entry<'a>(catalog: &'a Catalog, channel: &str, model: &str) -> &'a CatalogEntry {
    catalog
        .entries
        .iter()
        .find(|e| e.channel.id == channel && e.model_id == model)
        .unwrap_or_else(|| panic!("{channel}/{model} not in the catalog"))
}

#[test]
fn cost_first_puts_free_then_cheap_then_dear() {
    let ranked = order("qwen3-32b", "cost_first");
    // All three are paid; the cheapest gets the top cost score.
    let (_, catalog) = realistic_catalog();
    let price = |name: &str| {
        let (channel, model) = name.split_once('/').unwrap_or_default();
        entry(catalog, channel, model).price.map(|p| p.blended())
    };
    let prices: Vec<Option<f64>> = ranked.iter().map(|n| price(n)).collect();
    assert_eq!(ranked.len(), 3);
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "{ranked:?} {prices:?}"
    );
}

#[test]
fn free_first_and_local_first_change_the_winner() {
    assert_eq!(
        order("tag:qwen2.5,instruct", "local_first")[0],
        "ollama/qwen2.5:14b-instruct"
    );
    let free_first = order("tag:qwen2.5,instruct", "free_first");
    let (_, catalog) = realistic_catalog();
    let top = free_first[0]
        .split_once('/')
        .map(|(c, m)| entry(catalog, c, m));
    assert!(top.is_some_and(|e| e.is_free), "{free_first:?}");
}

#[test]
fn quality_optimized_prefers_the_biggest_model() {
    let ranked = order("tag:qwen3,free", "quality_optimized");
    assert_eq!(
        &ranked[..2],
        &[
            "openrouter/qwen/qwen3-235b-a22b-07-25:free".to_string(),
            "openrouter/qwen/qwen3-235b-a22b:free".to_string()
        ]
    );
}

#[test]
fn exact_scores_are_the_weighted_sum_of_sub_scores() {
    let (config, catalog) = realistic_catalog();
    let resolution = resolve_chat(config, catalog, "qwen/qwen3-30b-a3b:free")
        .unwrap_or_else(|e| panic!("{}", e.message));
    let ranked = rank(
        catalog,
        &resolution.candidates,
        &strategy(config, "cost_first"),
        &|_| LiveScores::NEUTRAL,
    );
    assert_eq!(ranked.len(), 1);
    let r = &ranked[0];
    let sub = |s: SubScore| r.sub_scores[s.index()];
    assert_eq!(sub(SubScore::Cost), 1.0);
    assert_eq!(sub(SubScore::Free), 1.0);
    assert_eq!(sub(SubScore::Local), 0.0);
    assert_eq!(sub(SubScore::Speed), 0.5);
    assert_eq!(sub(SubScore::Reliability), 0.5);
    // 30 B on the 0.1..2000 B log scale; 40960 tokens on the 2k..2M log scale.
    let parameter = (30f64.ln() - 0.1f64.ln()) / (2000f64.ln() - 0.1f64.ln());
    let context = (40960f64.ln() - 2048f64.ln()) / (2_097_152f64.ln() - 2048f64.ln());
    assert!((sub(SubScore::Parameter) - parameter).abs() < 1e-12);
    assert!((sub(SubScore::Context) - context).abs() < 1e-12);
    let expected = 0.40 * 1.0 + 0.25 * parameter + 0.20 * context + 0.15 * 0.5;
    assert!(
        (r.score - expected).abs() < 1e-12,
        "{} vs {expected}",
        r.score
    );
}

#[test]
fn a_user_strategy_really_orders_and_ties_break_deterministically() {
    // Only context matters: the larger context ranks first.
    let by_context = Strategy::new("ctx", &[(SubScore::Context, 1.0)]);
    let ranked = ranked_with("tag:local", &by_context, &|_| LiveScores::NEUTRAL);
    let names: Vec<&str> = ranked.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "ollama/llama3.2:latest",
            "ollama/gemma3:4b",
            "ollama/qwen2.5-coder:7b",
            "ollama/qwen2.5:14b-instruct",
            "ollama/codellama:latest",
            "ollama/llava:7b",
        ]
    );
    // Equal scores (every local model is free and local): model id decides, every time.
    let flat = Strategy::new("flat", &[(SubScore::Local, 1.0)]);
    let first = ranked_with("tag:local", &flat, &|_| LiveScores::NEUTRAL);
    let again = ranked_with("tag:local", &flat, &|_| LiveScores::NEUTRAL);
    assert_eq!(first, again);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn live_speed_moves_a_candidate() {
    let (config, _) = realistic_catalog();
    let speed = strategy(config, "speed_optimized");
    let neutral = ranked_with("qwen3-32b", &speed, &|_| LiveScores::NEUTRAL);
    let slowest_first = neutral.last().map(|(n, _)| n.clone()).unwrap_or_default();
    let boosted = ranked_with("qwen3-32b", &speed, &|e| {
        if format!("{}/{}", e.channel.id, e.model_id) == slowest_first {
            LiveScores {
                speed: 1.0,
                reliability: 0.5,
            }
        } else {
            LiveScores {
                speed: 0.1,
                reliability: 0.5,
            }
        }
    });
    assert_eq!(boosted[0].0, slowest_first, "{neutral:?} -> {boosted:?}");
}

#[test]
fn equal_scores_across_channels_break_by_priority_then_channel_then_model() {
    use smart_ai_router::config::{load_config, ConfigSource};
    let dir = tempfile::tempdir().expect("temp dir");
    crate::support::write_config(
        dir.path(),
        r#"
channels:
  - { id: zeta, provider: mock, api_key: k, priority: 0, tags: [pool], configured_models: [m-b, m-a] }
  - { id: alpha, provider: mock, api_key: k, priority: 1, tags: [pool], configured_models: [m-b, m-a] }
  - { id: mid, provider: mock, api_key: k, priority: 0, tags: [pool], configured_models: [m-a, m-b] }
"#,
    );
    let config = load_config(&ConfigSource::new(dir.path().join("config"))).expect("config loads");
    let catalog = Catalog::build(&config, &Default::default());
    // No candidate is local: every score is 0 and only the tie-break orders them.
    let flat = Strategy::new("flat", &[(SubScore::Local, 1.0)]);
    let resolution =
        resolve_chat(&config, &catalog, "tag:pool").unwrap_or_else(|e| panic!("{}", e.message));
    let ranked = rank(&catalog, &resolution.candidates, &flat, &|_| {
        LiveScores::NEUTRAL
    });
    assert!(ranked.iter().all(|r| r.score == 0.0));
    let names: Vec<String> = ranked
        .iter()
        .filter_map(|r| catalog.entry(r.entry))
        .map(|e| format!("{}/{}", e.channel.id, e.model_id))
        .collect();
    assert_eq!(
        names,
        [
            "mid/m-a",
            "mid/m-b",
            "zeta/m-a",
            "zeta/m-b",
            "alpha/m-a",
            "alpha/m-b"
        ]
    );
}

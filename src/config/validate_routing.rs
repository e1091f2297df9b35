//! Checking `routing:`: attempts, cooldowns, filters, strategies, the default model and the
//! prompt-length rules (see `validate` for the rules).

use super::problems::Problems;
use super::raw::{RawRouting, RawRule};
use super::strategy::{builtin_strategies, Strategy, SubScore};
use super::{ModelFilters, RoutingConfig, RoutingRule};

pub(super) fn validate_routing(raw: &RawRouting, problems: &mut Problems<'_>) -> RoutingConfig {
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
        default_model: validate_default_model(problems, raw.default_model.as_deref()),
        rules: raw
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| validate_rule(problems, i, rule))
            .collect(),
    }
}

/// A query must not be blank here; whether it parses is checked once the config is loaded
/// (`query::load_config`: the query language sits above the config layer).
fn check_query(problems: &mut Problems<'_>, key_path: &str, query: &str) -> bool {
    if query.trim().is_empty() {
        problems.push(key_path, "must be a model query such as \"tag:free\"");
        return false;
    }
    true
}

fn validate_default_model(problems: &mut Problems<'_>, model: Option<&str>) -> Option<String> {
    let model = model.map(str::trim).filter(|m| !m.is_empty())?;
    if model.eq_ignore_ascii_case("auto") {
        problems.push(
            "routing.default_model",
            "must be a query such as `tag:free` (`auto` is what it replaces)",
        );
        return None;
    }
    check_query(problems, "routing.default_model", model).then(|| model.to_string())
}

fn validate_rule(problems: &mut Problems<'_>, index: usize, raw: &RawRule) -> Option<RoutingRule> {
    let path = format!("routing.rules[{index}]");
    let (min, max) = (raw.when.min_prompt_tokens, raw.when.max_prompt_tokens);
    let mut ok = true;
    if min.is_none() && max.is_none() {
        problems.push(
            format!("{path}.when"),
            "needs max_prompt_tokens or min_prompt_tokens (or both)",
        );
        ok = false;
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            problems.push(
                format!("{path}.when"),
                format!("min_prompt_tokens ({min}) is above max_prompt_tokens ({max})"),
            );
            ok = false;
        }
    }
    let model = raw.model.trim();
    ok &= check_query(problems, &format!("{path}.model"), model);
    let name = raw
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| format!("rules[{index}]"), String::from);
    ok.then(|| RoutingRule {
        name,
        min_prompt_tokens: min,
        max_prompt_tokens: max,
        model: model.to_string(),
    })
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

//! The original (Python) smart-ai-router's `router_config.yaml`, read as this gateway's format.
//!
//! Runs on the interpolated value tree before it is typed: each key of the original's format
//! is either moved to its new meaning (one note naming the new key) or taken out with the
//! reason it has no meaning here. Nothing here stops a start; keys that belong to neither
//! format are left for the strict typing pass to report. Providers declared inside the router
//! config come out as typed providers that join providers.yaml's. Notes about the same key in
//! many channels or providers are folded into one (`channels[*].weight, 12 times`).
//! The mapping table is in docs/config.md; keep the two in step.

use serde_yaml::{Mapping, Value};

use super::legacy_notes::Notes;
pub use super::legacy_notes::{LegacyNote, Translation};
use super::legacy_providers::providers_of;
pub use super::legacy_providers::with_version;

const TOP_IGNORED: &[(&str, &str)] = &[
    (
        "system",
        "the original's name/version/storage settings mean nothing here",
    ),
    (
        "monitoring",
        "metrics are always served at /metrics; set the log level with RUST_LOG",
    ),
    ("caching", "answers are never cached"),
    (
        "model_groups",
        "use tag queries such as `model: \"tag:free,qwen3\"` instead of groups",
    ),
    (
        "clean_thinking_chains",
        "answers are passed through unchanged",
    ),
];

/// Translate the original's keys in place; see the module doc.
pub fn translate(router: &mut Value) -> Translation {
    let mut notes = Notes::default();
    let mut translation = Translation::default();
    let Some(root) = router.as_mapping_mut() else {
        return translation;
    };
    if let Some(Value::Mapping(providers)) = root.remove("providers") {
        translation.providers = providers_of(&providers, &mut notes);
    }
    for (key, reason) in TOP_IGNORED {
        if root.remove(*key).is_some() {
            notes.ignored(key, key.to_string(), reason);
        }
    }
    let request_timeout = translate_server(root, &mut notes);
    translate_auth(root, &mut notes);
    translate_routing(root, &mut notes);
    translate_tasks(root, &mut notes);
    if let Some(Value::Mapping(cost)) = root.get_mut("cost_control") {
        if cost.remove("currency").is_some() {
            notes.ignored(
                "cost_control.currency",
                "cost_control.currency".into(),
                "budgets are in USD; prices in another currency are converted per channel",
            );
        }
    }
    if let Some(Value::Sequence(channels)) = root.get_mut("channels") {
        for (i, channel) in channels.iter_mut().enumerate() {
            if let Value::Mapping(channel) = channel {
                translate_channel(channel, i, request_timeout.as_ref(), &mut notes);
            }
        }
    }
    translation.notes = notes.into_list();
    translation
}

fn section<'m>(root: &'m mut Mapping, key: &str) -> &'m mut Mapping {
    let entry = root
        .entry(Value::from(key))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !entry.is_mapping() {
        *entry = Value::Mapping(Mapping::new());
    }
    match entry {
        Value::Mapping(map) => map,
        _ => unreachable!("just made a mapping"),
    }
}

/// Move `from` to `to` within one mapping unless `to` is already set.
fn rename(map: &mut Mapping, from: &str, to: &str) -> bool {
    let Some(value) = map.remove(from) else {
        return false;
    };
    if !map.contains_key(to) {
        map.insert(Value::from(to), value);
    }
    true
}

fn translate_server(root: &mut Mapping, notes: &mut Notes) -> Option<Value> {
    let Some(Value::Mapping(server)) = root.get_mut("server") else {
        return None;
    };
    if rename(server, "max_request_size", "max_body_bytes") {
        notes.moved(
            "server.max_request_size",
            "server.max_request_size".into(),
            "server.max_body_bytes",
        );
    }
    if server.remove("cors_origins").is_some() {
        notes.ignored(
            "server.cors_origins",
            "server.cors_origins".into(),
            "no CORS headers are sent; serve browser clients through a reverse proxy",
        );
    }
    if server.remove("debug").is_some() {
        notes.ignored(
            "server.debug",
            "server.debug".into(),
            "set RUST_LOG=debug for debug logs",
        );
    }
    let timeout = server.remove("request_timeout");
    if timeout.is_some() {
        notes.moved(
            "server.request_timeout",
            "server.request_timeout".into(),
            "channels[*].timeout_s (each channel without one)",
        );
    }
    timeout
}

fn translate_auth(root: &mut Mapping, notes: &mut Notes) {
    let Some(Value::Mapping(auth)) = root.get_mut("auth") else {
        return;
    };
    let Some(Value::Mapping(mut admin)) = auth.remove("admin") else {
        return;
    };
    if let Some(token) = admin.remove("admin_token") {
        if !auth.contains_key("admin_token") {
            auth.insert(Value::from("admin_token"), token);
        }
        notes.moved(
            "auth.admin.admin_token",
            "auth.admin.admin_token".into(),
            "auth.admin_token",
        );
    }
    if admin.remove("enabled").is_some() {
        notes.ignored(
            "auth.admin.enabled",
            "auth.admin.enabled".into(),
            "admin routes need the admin token whenever auth.enabled is true",
        );
    }
    for (key, _) in admin {
        let key = key.as_str().unwrap_or("?").to_string();
        notes.ignored(
            "auth.admin.*",
            format!("auth.admin.{key}"),
            "not a setting of the original's admin section",
        );
    }
}

fn translate_routing(root: &mut Mapping, notes: &mut Notes) {
    let Some(Value::Mapping(routing)) = root.get_mut("routing") else {
        return;
    };
    if rename(routing, "max_retry_attempts", "max_attempts") {
        notes.moved(
            "routing.max_retry_attempts",
            "routing.max_retry_attempts".into(),
            "routing.max_attempts",
        );
    }
    if let Some(fallback) = routing.remove("enable_fallback") {
        if fallback.as_bool() == Some(false) {
            routing.insert(Value::from("max_attempts"), Value::from(1));
            notes.moved(
                "routing.enable_fallback",
                "routing.enable_fallback".into(),
                "routing.max_attempts: 1 (no failover)",
            );
        } else {
            notes.ignored(
                "routing.enable_fallback",
                "routing.enable_fallback".into(),
                "failover is always on; routing.max_attempts bounds it",
            );
        }
    }
    if rename(routing, "error_cooldown_period", "cooldown_s") {
        notes.moved(
            "routing.error_cooldown_period",
            "routing.error_cooldown_period".into(),
            "routing.cooldown_s",
        );
    }
    if routing.remove("health_check_interval").is_some() {
        notes.ignored(
            "routing.health_check_interval",
            "routing.health_check_interval".into(),
            "channel health is learned from real calls, with no probe traffic",
        );
    }
    if routing.remove("error_handling").is_some() {
        notes.ignored(
            "routing.error_handling",
            "routing.error_handling".into(),
            "the gateway classifies errors itself; tune routing.cooldown_s, auth_blacklist_s and quota_blacklist_s",
        );
    }
    if let Some(Value::Mapping(filters)) = routing.get_mut("model_filters") {
        translate_filters(filters, notes);
    }
    if let Some(Value::Mapping(strategies)) = routing.get_mut("sorting_strategies") {
        for (name, weights) in strategies.iter_mut() {
            let name = name.as_str().unwrap_or("?").to_string();
            let Value::Sequence(weights) = weights else {
                continue;
            };
            for (i, weight) in weights.iter_mut().enumerate() {
                if let Value::Mapping(weight) = weight {
                    if weight.remove("order").is_some() {
                        notes.ignored(
                            "routing.sorting_strategies.*[*].order",
                            format!("routing.sorting_strategies.{name}[{i}].order"),
                            "every score is higher-is-better, so no order is needed",
                        );
                    }
                }
            }
        }
    }
}

fn translate_filters(filters: &mut Mapping, notes: &mut Notes) {
    if filters.remove("exclude_vision_only_models").is_some() {
        notes.ignored(
            "routing.model_filters.exclude_vision_only_models",
            "routing.model_filters.exclude_vision_only_models".into(),
            "chat routes already skip models that cannot chat",
        );
    }
}

fn translate_tasks(root: &mut Mapping, notes: &mut Notes) {
    let Some(Value::Mapping(tasks)) = root.remove("tasks") else {
        return;
    };
    for (name, task) in tasks {
        let name = name.as_str().unwrap_or("?").to_string();
        let path = format!("tasks.{name}");
        if name == "model_discovery" {
            let discovery = section(root, "discovery");
            if let Some(enabled) = task.get("enabled").filter(|v| v.is_bool()) {
                discovery
                    .entry(Value::from("enabled"))
                    .or_insert(enabled.clone());
            }
            if let Some(hours) = task.get("interval_hours").and_then(Value::as_f64) {
                discovery
                    .entry(Value::from("interval_s"))
                    .or_insert(Value::from(hours * 3600.0));
            }
            notes.moved(
                &path,
                path.clone(),
                "discovery.enabled and discovery.interval_s",
            );
            continue;
        }
        let reason = match name.as_str() {
            "pricing_discovery" | "siliconflow_pricing" | "doubao_pricing" => {
                "prices come from discovery and the built-in price list"
            }
            "health_check" => "channel health is learned from real calls, with no probe traffic",
            "cache_cleanup" => "the discovery cache is one file per channel and needs no cleanup",
            "stats_report" => "statistics are served live at /v1/stats/*",
            _ => "this gateway has no background task of that name",
        };
        notes.ignored(&path, path.clone(), reason);
    }
}

const CHANNEL_IGNORED: &[(&str, &str)] = &[
    (
        "weight",
        "candidates are ranked by the routing strategy; use priority to prefer a channel",
    ),
    (
        "min_request_interval",
        "requests are not paced; a 429 starts a cooldown instead",
    ),
    (
        "daily_limit",
        "request counts are not capped; use daily_budget for a cost cap",
    ),
    (
        "capabilities",
        "capabilities come from the model name and the provider's model list",
    ),
    (
        "performance",
        "latency and success rates are measured from real calls",
    ),
];

fn translate_channel(
    channel: &mut Mapping,
    index: usize,
    request_timeout: Option<&Value>,
    notes: &mut Notes,
) {
    let at = |key: &str| format!("channels[{index}].{key}");
    for (key, reason) in CHANNEL_IGNORED {
        if channel.remove(*key).is_some() {
            notes.ignored(&format!("channels[*].{key}"), at(key), reason);
        }
    }
    if let Some(Value::Mapping(per_token)) = channel.remove("cost_per_token") {
        if let Some(price) = price_of(&per_token, "input", "output", 1e6) {
            channel.insert(Value::from("pricing"), price);
        }
        notes.moved(
            "channels[*].cost_per_token",
            at("cost_per_token"),
            "pricing (per 1M tokens: per-token prices × 1,000,000)",
        );
    }
    let per_1k = match channel.get("pricing") {
        Some(Value::Mapping(p)) if p.contains_key("input_cost_per_1k") => Some(p.clone()),
        _ => None,
    };
    if let Some(per_1k) = per_1k {
        if let Some(price) = price_of(&per_1k, "input_cost_per_1k", "output_cost_per_1k", 1e3) {
            channel.insert(Value::from("pricing"), price);
        }
        notes.moved(
            "channels[*].pricing.input_cost_per_1k",
            at("pricing"),
            "pricing.input/output (per 1M tokens: per-1k prices × 1,000)",
        );
    }
    if let Some(Value::Mapping(exchange)) = channel.remove("currency_exchange") {
        convert_currency(channel, &exchange);
        notes.moved(
            "channels[*].currency_exchange",
            at("currency_exchange"),
            "prices × its `rate`, and `currency` set to its `to`",
        );
    }
    if let Some(timeout) = request_timeout {
        channel
            .entry(Value::from("timeout_s"))
            .or_insert_with(|| timeout.clone());
    }
}

fn price_of(map: &Mapping, input: &str, output: &str, scale: f64) -> Option<Value> {
    let figure = |key: &str| {
        map.get(key)
            .and_then(Value::as_f64)
            .map(|v| round9(v * scale))
    };
    let mut price = Mapping::new();
    price.insert(Value::from("input"), Value::from(figure(input)?));
    price.insert(Value::from("output"), Value::from(figure(output)?));
    Some(Value::Mapping(price))
}

/// Prices per 1M tokens to 9 decimals: enough for any real price, and no float noise.
fn round9(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

fn convert_currency(channel: &mut Mapping, exchange: &Mapping) {
    let rate = exchange.get("rate").and_then(Value::as_f64);
    if let Some(rate) = rate.filter(|r| r.is_finite() && *r > 0.0) {
        let scale = |price: &mut Value| {
            if let Value::Mapping(price) = price {
                for (_, figure) in price.iter_mut() {
                    if let Some(v) = figure.as_f64() {
                        *figure = Value::from(round9(v * rate));
                    }
                }
            }
        };
        if let Some(price) = channel.get_mut("pricing") {
            scale(price);
        }
        if let Some(Value::Mapping(prices)) = channel.get_mut("model_pricing") {
            prices.iter_mut().for_each(|(_, p)| scale(p));
        }
        if let Some(to) = exchange.get("to").and_then(Value::as_str) {
            channel.insert(
                Value::from("currency"),
                Value::from(to.to_ascii_uppercase()),
            );
        }
    } else if let Some(from) = exchange.get("from").and_then(Value::as_str) {
        channel.insert(
            Value::from("currency"),
            Value::from(from.to_ascii_uppercase()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_token_and_per_1k_prices_become_per_million() {
        let mut value: Value = serde_yaml::from_str(
            "channels:\n  - {id: a, cost_per_token: {input: 0.00000015, output: 0.0000006}}\n  - {id: b, pricing: {input_cost_per_1k: 0.002, output_cost_per_1k: 0.008}, currency_exchange: {from: CNY, to: USD, rate: 0.14}}\n",
        )
        .expect("yaml");
        let t = translate(&mut value);
        assert_eq!(
            value["channels"][0]["pricing"]["input"].as_f64(),
            Some(0.15)
        );
        assert_eq!(
            value["channels"][0]["pricing"]["output"].as_f64(),
            Some(0.6)
        );
        assert_eq!(
            value["channels"][1]["pricing"]["input"].as_f64(),
            Some(0.28)
        );
        assert_eq!(
            value["channels"][1]["pricing"]["output"].as_f64(),
            Some(1.12)
        );
        assert_eq!(value["channels"][1]["currency"].as_str(), Some("USD"));
        assert_eq!(t.notes.len(), 3);
    }
}

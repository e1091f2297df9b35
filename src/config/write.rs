//! Writing config files that people then edit: `migrate` and `import` produce them.
//!
//! A router config is written section by section in the usual order, each under a comment
//! saying what it is for; a provider list one flow line per provider, under the shipped file's
//! key legend. Values come from serde_yaml, so anything written loads back the same.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::raw::RawProvider;

const SECTIONS: &[(&str, &str)] = &[
    ("server", "Where the gateway listens and keeps its cache."),
    ("auth", "Tokens for /v1/* (api_token) and the admin routes (admin_token)."),
    (
        "channels",
        "A channel = a provider + base URL + key + tags + prices (per 1M tokens). Keys are\n# ${VAR} references, read from the environment or from secrets.env next to this file.",
    ),
    (
        "routing",
        "How candidates are ranked and tried (strategies, attempts, cooldowns, rules).",
    ),
    ("discovery", "Fetching each channel's model list."),
    ("usage", "One JSONL line per call, under usage.dir."),
    ("cost_control", "Daily budgets in USD."),
];

/// A router_config.yaml text: `header` (each line gets `# `), then every section of `root`.
pub fn router_yaml(header: &[String], root: &Mapping) -> String {
    let mut text = String::new();
    for line in header {
        text.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
    }
    let known: Vec<&str> = SECTIONS.iter().map(|(k, _)| *k).collect();
    let rest = root
        .iter()
        .filter(|(k, _)| !k.as_str().is_some_and(|k| known.contains(&k)));
    let ordered = SECTIONS
        .iter()
        .filter_map(|(key, comment)| Some((root.get(*key)?, *key, Some(*comment))));
    let sections: Vec<(&Value, String, Option<&str>)> = ordered
        .map(|(v, k, c)| (v, k.to_string(), c))
        .chain(rest.map(|(k, v)| (v, k.as_str().unwrap_or("?").to_string(), None)))
        .collect();
    for (value, key, comment) in sections {
        text.push('\n');
        if let Some(comment) = comment {
            text.push_str(&format!("# {comment}\n"));
        }
        text.push_str(&section_yaml(&key, value));
    }
    text
}

fn section_yaml(key: &str, value: &Value) -> String {
    let mut one = Mapping::new();
    one.insert(Value::from(key), value.clone());
    let text = serde_yaml::to_string(&Value::Mapping(one)).unwrap_or_default();
    if key != "channels" {
        return text;
    }
    // A blank line between channels reads better in a long list.
    text.replace("\n- ", "\n\n- ")
}

/// A providers.yaml text: the shipped legend, then one flow line per provider.
pub fn providers_yaml(
    header: &[String],
    legend: &str,
    providers: &BTreeMap<String, RawProvider>,
) -> String {
    let mut text = String::new();
    for line in header {
        text.push_str(&format!("# {line}\n"));
    }
    text.push_str(legend);
    text.push_str("providers:\n");
    for (key, provider) in providers {
        text.push_str(&format!("  {key}: {}\n", flow(provider)));
    }
    text
}

fn flow(provider: &RawProvider) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut parts = Vec::new();
    if let Some(name) = &provider.name {
        parts.push(format!("name: {}", quote(name)));
    }
    parts.push(format!("base_url: {}", quote(&provider.base_url)));
    parts.push(format!("auth: {}", serde_name(&provider.auth)));
    parts.push(format!("format: {}", serde_name(&provider.format)));
    if let Some(endpoint) = &provider.models_endpoint {
        parts.push(format!("models_endpoint: {}", quote(endpoint)));
    }
    if provider.is_local {
        parts.push("is_local: true".into());
    }
    if !provider.headers.is_empty() {
        let headers: Vec<String> = provider
            .headers
            .iter()
            .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
            .collect();
        parts.push(format!("headers: {{ {} }}", headers.join(", ")));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// The serde name of a unit enum value (`x-api-key`, `openai`).
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The comment lines at the top of the shipped providers.yaml, up to `providers:`.
pub fn shipped_legend(shipped: &str) -> String {
    shipped
        .lines()
        .take_while(|l| !l.starts_with("providers:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

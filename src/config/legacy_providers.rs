//! Providers declared inside the original router's `router_config.yaml` (its `providers:`
//! section), as this gateway's provider kinds: `display_name` → name, `base_url` + `/v1`,
//! `auth_type` → auth, `adapter_class` → format; `rate_limit` and `capabilities` are noted
//! as ignored. Part of `legacy`.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::legacy_notes::Notes;
use super::raw::{AuthStyle, RawProvider, WireFormat};

const PROVIDER_IGNORED: &[(&str, &str)] = &[
    (
        "rate_limit",
        "no client-side rate limit; a 429 starts a cooldown",
    ),
    (
        "capabilities",
        "capabilities come from the model name and the provider's model list",
    ),
];

pub(super) fn providers_of(
    providers: &Mapping,
    notes: &mut Notes,
) -> BTreeMap<String, RawProvider> {
    let mut out = BTreeMap::new();
    for (key, provider) in providers {
        let (Some(key), Value::Mapping(provider)) = (key.as_str(), provider) else {
            continue;
        };
        let path = format!("providers.{key}");
        notes.add(
            "providers.*",
            path.clone(),
            "a provider declared in the router config (the original's place): added to providers.yaml's, base_url + /v1",
        );
        for (field, reason) in PROVIDER_IGNORED {
            if provider.contains_key(*field) {
                notes.ignored(
                    &format!("providers.*.{field}"),
                    format!("{path}.{field}"),
                    reason,
                );
            }
        }
        let text = |field: &str| provider.get(field).and_then(Value::as_str).map(str::trim);
        let adapter = text("adapter_class").unwrap_or("").to_ascii_lowercase();
        let base_url = with_version(text("base_url").unwrap_or(""));
        let is_local = is_local_url(&base_url) || adapter.contains("ollama");
        out.insert(
            key.to_string(),
            RawProvider {
                auth: match text("auth_type").map(str::to_ascii_lowercase).as_deref() {
                    Some("none") => AuthStyle::None,
                    Some("x-api-key" | "x_api_key" | "api_key" | "api-key") => AuthStyle::XApiKey,
                    _ if adapter.contains("anthropic") => AuthStyle::XApiKey,
                    _ if is_local => AuthStyle::None,
                    _ => AuthStyle::Bearer,
                },
                format: if adapter.contains("anthropic") {
                    WireFormat::Anthropic
                } else {
                    WireFormat::Openai
                },
                base_url,
                models_endpoint: None,
                is_local,
                name: text("display_name").or(text("name")).map(String::from),
                limits: None,
                model_limits: Default::default(),
                responses: false,
                headers: if adapter.contains("anthropic") {
                    BTreeMap::from([("anthropic-version".into(), "2023-06-01".into())])
                } else {
                    BTreeMap::new()
                },
            },
        );
    }
    out
}

/// The original appended `/v1/...` itself; here base_url is the API root. A URL whose last
/// path segment is already a version (`/v1`, `/v3`, `/v1beta`) is kept.
pub fn with_version(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let last = url.rsplit('/').next().unwrap_or("");
    let versioned = last.len() >= 2
        && last.starts_with('v')
        && last[1..].starts_with(|c: char| c.is_ascii_digit());
    if versioned || url.is_empty() {
        url.to_string()
    } else {
        format!("{url}/v1")
    }
}

fn is_local_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next();
    matches!(
        host,
        Some("localhost" | "127.0.0.1" | "[") | Some("0.0.0.0")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_gain_v1_unless_they_end_in_a_version() {
        assert_eq!(
            with_version("https://api.groq.com/openai"),
            "https://api.groq.com/openai/v1"
        );
        assert_eq!(with_version("https://burn.hair/"), "https://burn.hair/v1");
        assert_eq!(
            with_version("https://ark.cn-beijing.volces.com/api/v3"),
            "https://ark.cn-beijing.volces.com/api/v3"
        );
        assert_eq!(with_version("https://x.dev/v1beta"), "https://x.dev/v1beta");
        assert_eq!(
            with_version("https://x.dev/vision"),
            "https://x.dev/vision/v1"
        );
        assert!(is_local_url("http://localhost:11434"));
        assert!(!is_local_url("https://api.openai.com"));
    }
}

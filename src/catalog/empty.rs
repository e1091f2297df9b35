//! Why a catalog is empty, in words a newcomer can act on: how many channels are disabled and
//! why, which enabled channels have no models (not reachable yet, or an empty model list).
//!
//! Computed once when the catalog is built; the 404 of a query, `smart-ai-router models` and
//! `/health` all show the same sentence. Never names a key, only the variables that hold them.

use crate::config::Config;

/// The sentence for an empty catalog built from `config`, where `model_count(channel_id)` is
/// how many models each enabled channel contributed.
pub fn why_empty(config: &Config, model_count: impl Fn(&str) -> usize) -> String {
    let total = config.channels.len();
    if total == 0 {
        return "the catalog is empty: router_config.yaml has no channels".into();
    }
    let disabled: Vec<String> = config
        .channels
        .iter()
        .filter(|c| !c.enabled)
        .map(|c| {
            let reason = c.disabled_reason.as_deref().unwrap_or("disabled");
            format!("{} ({reason})", c.id)
        })
        .collect();
    let silent: Vec<&str> = config
        .enabled_channels()
        .filter(|c| model_count(&c.id) == 0)
        .map(|c| c.id.as_str())
        .collect();
    let mut parts = Vec::new();
    if !disabled.is_empty() {
        parts.push(format!(
            "{} of {total} channels are disabled: {}",
            disabled.len(),
            disabled.join("; ")
        ));
    }
    if !silent.is_empty() {
        parts.push(format!(
            "{} enabled channel(s) have no models yet (not reachable, or not discovered yet): {}",
            silent.len(),
            silent.join(", ")
        ));
    }
    format!(
        "the catalog is empty: {}. Set a channel's key variable (e.g. export GROQ_API_KEY=...) or start a local server (Ollama, LM Studio); GET /health shows each channel's state",
        parts.join("; ")
    )
}

//! What is known of one model, from wherever it is known: a channel's models endpoint
//! ([`DiscoveredModel`], produced by `discovery`), the built-in knowledge base
//! (`knowledge::KnownModel`) and the model's name (`names::NameFacts`). Each source gives its
//! figures as one [`ModelFacts`]; [`ModelFacts::merge`] is the one written precedence the
//! catalog applies per entry.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One model as a channel's models endpoint describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredModel {
    pub id: String,
    pub context_tokens: Option<u64>,
    /// Total parameters, billions.
    pub params_b: Option<f64>,
    /// Active parameters of a mixture-of-experts model, billions.
    pub active_params_b: Option<f64>,
    /// USD per 1M input tokens.
    pub input_per_1m: Option<f64>,
    /// USD per 1M output tokens.
    pub output_per_1m: Option<f64>,
    /// USD per 1M cached input tokens.
    pub cached_input_per_1m: Option<f64>,
    /// USD per 1M input tokens written to the prompt cache (OpenRouter `input_cache_write`).
    #[serde(default)]
    pub cache_write_per_1m: Option<f64>,
    /// `chat` | `embedding` | `rerank` | `image` | `audio` | `moderation`, when the provider says.
    pub kind_hint: Option<String>,
    /// The upstream's entry for this model, as received.
    pub raw: Value,
}

/// A model's size and context as one source states them (`None`: that source does not say).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelFacts {
    pub context_tokens: Option<u64>,
    /// Total parameters, billions.
    pub params_b: Option<f64>,
    /// Active parameters of a mixture-of-experts model, billions.
    pub active_params_b: Option<f64>,
}

impl ModelFacts {
    /// The precedence, field by field: the provider's own figure; else the knowledge base's,
    /// unless the name states a figure more than 50 % away from it (the row is then about
    /// another size of the family, and the name wins); else the name's. A provider that
    /// states the total parameters also decides the active ones (its silence there means
    /// dense, not unknown).
    pub fn merge(provider: ModelFacts, known: Option<ModelFacts>, name: ModelFacts) -> ModelFacts {
        let known = known.unwrap_or_default();
        let context = |k: Option<u64>, n: Option<u64>| {
            agreeing(k.map(|c| c as f64), n.map(|c| c as f64)).map(|c| c as u64)
        };
        ModelFacts {
            params_b: provider
                .params_b
                .or_else(|| agreeing(known.params_b, name.params_b))
                .or(name.params_b),
            active_params_b: if provider.params_b.is_some() {
                provider.active_params_b
            } else {
                agreeing(known.active_params_b, name.active_params_b).or(name.active_params_b)
            },
            context_tokens: provider
                .context_tokens
                .or_else(|| context(known.context_tokens, name.context_tokens))
                .or(name.context_tokens),
        }
    }
}

/// The knowledge base's figure, unless the name states one that differs by more than half:
/// then the lookup fell back to another size of the family (`qwen2.5:72b` finding the
/// `qwen2.5` row) and the name is right.
fn agreeing(known: Option<f64>, from_name: Option<f64>) -> Option<f64> {
    match (known, from_name) {
        (Some(k), Some(n)) if n > 0.0 && ((k - n) / n).abs() > 0.5 => None,
        (known, _) => known,
    }
}

impl DiscoveredModel {
    /// What the provider states.
    pub fn facts(&self) -> ModelFacts {
        ModelFacts {
            context_tokens: self.context_tokens,
            params_b: self.params_b,
            active_params_b: self.active_params_b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(context: Option<u64>, params: Option<f64>, active: Option<f64>) -> ModelFacts {
        ModelFacts {
            context_tokens: context,
            params_b: params,
            active_params_b: active,
        }
    }

    #[test]
    fn provider_then_an_agreeing_knowledge_base_then_the_name() {
        let name = facts(Some(131_072), Some(70.0), None);
        // The provider wins outright.
        let provider = facts(Some(8_192), Some(72.0), None);
        assert_eq!(ModelFacts::merge(provider, None, name), provider);
        // The knowledge base fills what the provider leaves out, when it agrees with the name.
        let known = facts(Some(128_000), Some(70.6), Some(12.0));
        assert_eq!(
            ModelFacts::merge(ModelFacts::default(), Some(known), name),
            facts(Some(128_000), Some(70.6), Some(12.0))
        );
        // A row about another size of the family (8 B against the name's 70 B) loses.
        let other_size = facts(None, Some(8.0), None);
        assert_eq!(
            ModelFacts::merge(ModelFacts::default(), Some(other_size), name).params_b,
            Some(70.0)
        );
        // A provider that states the total decides the active count (dense: none).
        let dense = facts(None, Some(70.0), None);
        assert_eq!(
            ModelFacts::merge(dense, Some(known), name).active_params_b,
            None
        );
    }
}

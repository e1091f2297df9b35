//! What is known of one model, from wherever it is known: a channel's models endpoint
//! ([`DiscoveredModel`], produced by `discovery`), the built-in knowledge base
//! (`knowledge::KnownModel`) and the model's name (`names::NameFacts`). The catalog merges
//! them per entry with the precedence provider > knowledge base > name (`build.rs`).

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
    /// `chat` | `embedding` | `rerank` | `image` | `audio` | `moderation`, when the provider says.
    pub kind_hint: Option<String>,
    /// The upstream's entry for this model, as received.
    pub raw: Value,
}

//! Building a [`Catalog`] from the config and each channel's model list.
//!
//! Per channel (enabled ones only, in file order): the models are the pinned `model_name`
//! when set; else the discovered (or cached) list; else `configured_models`. A
//! `model_aliases` target the list lacks is added (the channel says it serves it). Per model,
//! facts merge with this precedence: parameters and context from the provider's list, then the
//! knowledge base, then the name; kind from the provider, then the name when it says non-chat,
//! then the knowledge base, else chat (a knowledge figure that differs from the name's by more
//! than half is a fallback to another size of the family, and the name wins); price as docs/config.md (`model_pricing` > discovery >
//! knowledge base > channel `pricing` > unknown), except that local channels and `:free` ids
//! cost 0 unless `model_pricing` says otherwise. Static scores are computed here so a request
//! never recomputes them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::empty;
use super::facts::{DiscoveredModel, ModelFacts};
use super::index::CatalogIndex;
use super::names::{self, ModelKind};
use super::{knowledge, Catalog, CatalogEntry, EntryId, ModelPrice, PriceSource, StaticScores};
use crate::config::{Channel, Config};

/// Where a channel's model list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSource {
    /// Fetched from the provider during this run.
    Api,
    /// Read from `cache/channels/<id>.json`.
    Cache,
    /// `configured_models` / `model_name` from the config.
    Configured,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Api => "api",
            ModelSource::Cache => "cache",
            ModelSource::Configured => "configured",
        }
    }
}

/// A channel's discovered model list.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelModelList {
    pub models: Vec<DiscoveredModel>,
    pub source: ModelSource,
}

impl Catalog {
    /// Build the catalog for `config` from the model lists known per channel id.
    pub fn build(config: &Config, lists: &HashMap<String, Arc<ChannelModelList>>) -> Catalog {
        let mut entries = Vec::new();
        let mut aliases = Vec::new();
        for (channel_index, channel) in config.channels.iter().enumerate() {
            if !channel.enabled {
                continue;
            }
            let (models, source) = channel_models(channel, lists.get(&channel.id));
            let first = entries.len();
            let mut channel_entries: Vec<CatalogEntry> = models
                .into_iter()
                .map(|model| build_entry(channel, channel_index as u32, model, source))
                .collect();
            channel_entries.sort_by(|a, b| a.model_id.cmp(&b.model_id));
            for (standard, target) in &channel.model_aliases {
                let found = channel_entries
                    .iter()
                    .position(|e| e.model_id.eq_ignore_ascii_case(target));
                if let Some(position) = found {
                    // The words of the alias describe the model the channel names opaquely.
                    let entry = &mut channel_entries[position];
                    for tag in names::analyse(standard).tags {
                        push_unique(&mut entry.tags, &tag);
                    }
                    aliases.push((standard.clone(), (first + position) as EntryId));
                }
            }
            entries.extend(channel_entries);
        }
        set_tie_order(&mut entries);
        let index = CatalogIndex::build(&entries, aliases.clone());
        let empty_reason = entries.is_empty().then(|| empty::why_empty(config, |_| 0));
        Catalog {
            entries,
            index,
            aliases,
            empty_reason,
        }
    }
}

/// Number the entries in the ranking tie-break order: channel `priority` (lower first), then
/// channel id, then model id, then entry id (so the order is total even if a channel lists an
/// id twice).
fn set_tie_order(entries: &mut [CatalogEntry]) {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&entries[a], &entries[b]);
        x.channel
            .priority
            .cmp(&y.channel.priority)
            .then_with(|| x.channel.id.cmp(&y.channel.id))
            .then_with(|| x.model_id.cmp(&y.model_id))
            .then_with(|| a.cmp(&b))
    });
    for (place, id) in order.into_iter().enumerate() {
        entries[id].tie_order = place as u32;
    }
}

/// The models a channel offers, and where the list came from.
fn channel_models(
    channel: &Channel,
    list: Option<&Arc<ChannelModelList>>,
) -> (Vec<DiscoveredModel>, ModelSource) {
    let discovered = list.filter(|l| l.source != ModelSource::Configured);
    let find = |id: &str| {
        discovered
            .and_then(|l| l.models.iter().find(|m| m.id == id))
            .cloned()
            .unwrap_or_else(|| bare_model(id))
    };
    let (mut models, source) = if let Some(pinned) = &channel.model_name {
        (
            vec![find(pinned)],
            discovered.map_or(ModelSource::Configured, |l| l.source),
        )
    } else if let Some(list) = discovered {
        (list.models.clone(), list.source)
    } else {
        let models = channel
            .configured_models
            .iter()
            .map(|id| bare_model(id))
            .collect();
        (models, ModelSource::Configured)
    };
    let mut seen: BTreeSet<String> = models.iter().map(|m| m.id.to_lowercase()).collect();
    for target in channel.model_aliases.values() {
        if seen.insert(target.to_lowercase()) {
            models.push(find(target));
        }
    }
    (models, source)
}

fn bare_model(id: &str) -> DiscoveredModel {
    DiscoveredModel {
        id: id.to_string(),
        context_tokens: None,
        params_b: None,
        active_params_b: None,
        input_per_1m: None,
        output_per_1m: None,
        cached_input_per_1m: None,
        cache_write_per_1m: None,
        kind_hint: None,
        raw: serde_json::Value::Null,
    }
}

fn build_entry(
    channel: &Arc<Channel>,
    channel_index: u32,
    model: DiscoveredModel,
    source: ModelSource,
) -> CatalogEntry {
    let facts = names::analyse(&model.id);
    let known = knowledge::lookup(&model.id);
    let merged = ModelFacts::merge(model.facts(), known.map(|k| k.facts()), facts.facts());
    let ModelFacts {
        params_b,
        active_params_b,
        context_tokens,
    } = merged;
    let kind = model
        .kind_hint
        .as_deref()
        .and_then(kind_from_str)
        .or((facts.kind != ModelKind::Chat).then_some(facts.kind))
        .or_else(|| known.and_then(|k| k.kind).and_then(kind_from_str))
        .unwrap_or(ModelKind::Chat);
    let lower_id = model.id.to_lowercase();
    let variant = variant_of(&lower_id, &facts.base_id);
    let (price, price_source) = price_of(channel, &model, known, variant.as_deref());
    let is_local = channel.is_local();
    let is_free = price.is_some_and(|p| p.is_free()) || variant.as_deref() == Some("free");
    let quality = known.and_then(|k| k.quality);
    let created = created_of(&model.raw);

    let mut tags = facts.tags;
    for tag in &channel.tags {
        push_unique(&mut tags, tag);
    }
    if is_free {
        push_unique(&mut tags, "free");
    }
    if is_local {
        push_unique(&mut tags, "local");
    }
    let scores = StaticScores {
        parameter: log_scale(params_b, 0.1, 2000.0),
        context: log_scale(context_tokens.map(|c| c as f64), 2048.0, 2_097_152.0),
        quality: quality.map_or(0.5, knowledge::quality_rank),
        free: if is_free { 1.0 } else { 0.0 },
        local: if is_local { 1.0 } else { 0.0 },
        ln_price: price
            .filter(|p| !p.is_free() && p.blended() > 0.0)
            .map(|p| p.blended().ln()),
    };
    CatalogEntry {
        channel: channel.clone(),
        channel_index,
        health_key: format!("{}/{}", channel.id, model.id).into(),
        model_id: model.id,
        base_id: facts.base_id,
        variant,
        date_alias: facts.date_alias,
        tags,
        segments: facts.segments,
        params_b,
        active_params_b,
        context_tokens,
        kind,
        price,
        price_source,
        quality,
        is_free,
        is_local,
        scores,
        source,
        created,
        tie_order: 0,
    }
}

/// When the upstream says the model was made: OpenAI's `created` (unix seconds), Anthropic's
/// `created_at` (RFC 3339) or Ollama's `modified_at`.
fn created_of(raw: &serde_json::Value) -> Option<i64> {
    if let Some(seconds) = raw.get("created").and_then(serde_json::Value::as_i64) {
        return (seconds > 0).then_some(seconds);
    }
    ["created_at", "modified_at"].iter().find_map(|key| {
        let text = raw.get(*key)?.as_str()?;
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp())
    })
}

fn push_unique(tags: &mut Vec<String>, tag: &str) {
    if !tags.iter().any(|t| t == tag) {
        tags.push(tag.to_string());
    }
}

/// The `:suffix` that `base_id` dropped from the id's last path segment, if any.
fn variant_of(lower_id: &str, base_id: &str) -> Option<String> {
    let last = lower_id.rsplit('/').next().unwrap_or(lower_id);
    last.strip_prefix(base_id)
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn kind_from_str(kind: &str) -> Option<ModelKind> {
    match kind {
        "chat" => Some(ModelKind::Chat),
        "embedding" => Some(ModelKind::Embedding),
        "rerank" => Some(ModelKind::Rerank),
        "image" => Some(ModelKind::Image),
        "audio" => Some(ModelKind::Audio),
        "moderation" => Some(ModelKind::Moderation),
        _ => None,
    }
}

fn price_of(
    channel: &Channel,
    model: &DiscoveredModel,
    known: Option<&knowledge::KnownModel>,
    variant: Option<&str>,
) -> (Option<ModelPrice>, PriceSource) {
    let (price, source) = first_price(channel, model, known, variant);
    (
        price.map(|p| with_cache_prices(p, channel, model, known)),
        source,
    )
}

/// A price whose cache prices are missing takes them from the model's own figures
/// (discovery, then the knowledge base, both USD) when the channel bills in USD: a
/// `model_pricing` that names only input and output still gets Anthropic's published
/// cache-write price, instead of charging cache writes at the input price.
fn with_cache_prices(
    mut price: ModelPrice,
    channel: &Channel,
    model: &DiscoveredModel,
    known: Option<&knowledge::KnownModel>,
) -> ModelPrice {
    if channel.currency != "USD" {
        return price;
    }
    let known_read = known.and_then(|k| k.cached_input_per_1m);
    let known_write = known.and_then(|k| k.cache_write_per_1m);
    price.cached_input = price
        .cached_input
        .or(model.cached_input_per_1m)
        .or(known_read);
    price.cache_write = price
        .cache_write
        .or(model.cache_write_per_1m)
        .or(known_write);
    price
}

fn first_price(
    channel: &Channel,
    model: &DiscoveredModel,
    known: Option<&knowledge::KnownModel>,
    variant: Option<&str>,
) -> (Option<ModelPrice>, PriceSource) {
    let configured = channel
        .model_pricing
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(&model.id));
    if let Some((_, p)) = configured {
        return (Some(*p), PriceSource::ModelPricing);
    }
    if channel.is_local() {
        return (Some(ModelPrice::FREE), PriceSource::Local);
    }
    if variant == Some("free") {
        return (Some(ModelPrice::FREE), PriceSource::FreeVariant);
    }
    if let (Some(input), Some(output)) = (model.input_per_1m, model.output_per_1m) {
        let price = ModelPrice {
            input,
            output,
            cached_input: model.cached_input_per_1m,
            cache_write: model.cache_write_per_1m,
        };
        return (Some(price), PriceSource::Discovery);
    }
    if let Some((input, output)) = known.and_then(|k| k.input_per_1m.zip(k.output_per_1m)) {
        let price = ModelPrice {
            input,
            output,
            cached_input: known.and_then(|k| k.cached_input_per_1m),
            cache_write: known.and_then(|k| k.cache_write_per_1m),
        };
        return (Some(price), PriceSource::KnowledgeBase);
    }
    if let Some(p) = channel.pricing {
        return (Some(p), PriceSource::ChannelPricing);
    }
    (None, PriceSource::Unknown)
}

/// `value` on a log scale from `low` (0) to `high` (1); unknown is neutral (0.5).
fn log_scale(value: Option<f64>, low: f64, high: f64) -> f64 {
    match value {
        Some(v) if v > 0.0 && v.is_finite() => {
            ((v.ln() - low.ln()) / (high.ln() - low.ln())).clamp(0.0, 1.0)
        }
        _ => 0.5,
    }
}

//! The catalog: every (channel, model) pair the gateway can route to, with everything derived
//! about it (docs/queries.md), and the indexes that let a query avoid scanning entries.
//!
//! A [`Catalog`] is an immutable value, built once per config or discovery change
//! (`build.rs`) and shared behind an `Arc` inside the state snapshot. Nothing mutates it; a
//! change builds a new one. Entry ids are indexes into `entries`, ordered by channel (file
//! order) then model id, so every list of ids is sorted and set operations are merges.

mod build;
pub mod empty;
pub mod facts;
pub mod index;
pub mod knowledge;
pub mod names;

use std::sync::Arc;

pub use build::{ChannelModelList, ModelSource};
pub use index::CatalogIndex;
pub use names::ModelKind;

use crate::config::Channel;

/// Index of an entry in [`Catalog::entries`].
pub type EntryId = u32;

/// Where an entry's price came from (docs/config.md precedence, highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// The channel's `model_pricing` for this model.
    ModelPricing,
    /// Local channels cost nothing.
    Local,
    /// A `:free` variant id.
    FreeVariant,
    /// The provider's model list (e.g. OpenRouter `pricing`).
    Discovery,
    /// The built-in knowledge base.
    KnowledgeBase,
    /// The channel's default `pricing`.
    ChannelPricing,
    Unknown,
}

impl PriceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSource::ModelPricing => "model_pricing",
            PriceSource::Local => "local",
            PriceSource::FreeVariant => "free_variant",
            PriceSource::Discovery => "discovery",
            PriceSource::KnowledgeBase => "knowledge_base",
            PriceSource::ChannelPricing => "channel_pricing",
            PriceSource::Unknown => "unknown",
        }
    }
}

/// Per-1M-token prices in the channel's currency: the config's price type, one type for a
/// configured, discovered or known price.
pub use crate::config::Price as ModelPrice;

/// The parts of a score that do not depend on the request, computed at build time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticScores {
    pub parameter: f64,
    pub context: f64,
    pub quality: f64,
    pub free: f64,
    pub local: f64,
    /// `ln` of the blended price for paid entries with a known price; the cost score is
    /// relative to the candidate set, so it is finished per request.
    pub ln_price: Option<f64>,
}

/// One (channel, model) pair.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub channel: Arc<Channel>,
    /// Index of the channel in the config's channel list.
    pub channel_index: u32,
    /// The model id as the channel names it: what the upstream is sent.
    pub model_id: String,
    /// `channel_id/model_id`: the key of this pair's health state, built once.
    pub health_key: Arc<str>,
    /// Lower-case id without vendor prefix and variant suffix.
    pub base_id: String,
    /// The variant suffix after `:` (`free`, `beta`, ...), lower-case.
    pub variant: Option<String>,
    /// `base_id` without its trailing date (`claude-3-haiku-20240307` → `claude-3-haiku`).
    pub date_alias: Option<String>,
    /// Name tags, then channel tags, `free`, `local`; lower-case, no duplicates.
    pub tags: Vec<String>,
    /// Complete segments and date-stripped segments of the id (name queries match these).
    pub segments: Vec<String>,
    pub params_b: Option<f64>,
    pub active_params_b: Option<f64>,
    pub context_tokens: Option<u64>,
    pub kind: ModelKind,
    pub price: Option<ModelPrice>,
    pub price_source: PriceSource,
    pub quality: Option<f64>,
    pub is_free: bool,
    pub is_local: bool,
    pub scores: StaticScores,
    /// Where the model list of the channel came from.
    pub source: ModelSource,
    /// Unix seconds the upstream gave for the model (`created`, `created_at`), if any.
    pub created: Option<i64>,
    /// This entry's place in the ranking tie-break order (channel `priority`, channel id,
    /// model id, entry id), set once the whole catalog is built: ranking compares one number
    /// instead of three strings.
    pub tie_order: u32,
}

/// The immutable catalog snapshot.
#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<CatalogEntry>,
    pub index: CatalogIndex,
    /// Every channel alias that names a model of the catalog: (standard name, its entry), in
    /// channel order. The words of the name are also tags of the entry.
    pub aliases: Vec<(String, EntryId)>,
    /// Why the catalog is empty (`None` when it is not): disabled channels and their reasons,
    /// enabled channels without models.
    pub empty_reason: Option<String>,
}

impl Catalog {
    pub fn entry(&self, id: EntryId) -> Option<&CatalogEntry> {
        self.entries.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sentence explaining an empty catalog (see `empty`).
    pub fn empty_reason(&self) -> &str {
        self.empty_reason
            .as_deref()
            .unwrap_or("the catalog is empty: no enabled channel has models")
    }

    /// Entries of one channel.
    /// Where the models `channel_id` serves now came from (`None`: it serves none).
    pub fn channel_source(&self, channel_id: &str) -> Option<ModelSource> {
        self.channel_entries(channel_id).next().map(|e| e.source)
    }

    pub fn channel_entries<'a>(
        &'a self,
        channel_id: &'a str,
    ) -> impl Iterator<Item = &'a CatalogEntry> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.channel.id == channel_id)
    }
}

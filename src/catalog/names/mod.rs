//! Model-name analysis (docs/queries.md): everything the catalog derives from a model id alone — tags,
//! complete segments, base id, date alias, parameter counts, context length and kind.
//!
//! Owns: the rules that read a name. Must never: do I/O, consult the knowledge base or a
//! provider's figures (the catalog lets those win over the name), panic on any input, or use
//! regexes. `analyse` runs once per (channel, model) when a catalog is built; it allocates the
//! lower-cased id and the values it returns, nothing else.
//!
//! Rules decided here:
//! - **Tags**: the tag rule of docs/queries.md on the trimmed, Unicode lower-cased id. Complete segments
//!   that contain `,` are skipped (a tag query splits on commas, so no query could name them).
//!   A date-stripped segment is added when it has at least 2 characters and a letter
//!   (`o1-2024-12-17` adds `o1`). At most 48 pieces and 16 segments are kept (real ids have
//!   fewer than 20), so a hostile id cannot make deduplication quadratic.
//! - **Vendor prefixes** (never complete segments): [`VENDOR_PREFIXES`], plus any segment ending
//!   in `-ai`, `-org`, `-labs`, `-inc` or `-community` (`deepseek-ai`, `zai-org`,
//!   `black-forest-labs`). LiteLLM routing segments are skipped the same way: cloud regions
//!   (`us-east-1`, `us-gov-west-1`) and pricing dimensions (`1024-x-1024`, `50-steps`,
//!   `1-month-commitment`). **Suffix words**: [`SUFFIX_WORDS`].
//! - **Base id**: after the last `/`, minus trailing `:variant`s from [`VARIANT_SUFFIXES`]
//!   (OpenRouter's `free beta thinking extended nitro floor online exacto batch`, Ollama's
//!   `latest` and `cloud`). Ollama size/quantisation tags (`:7b`) and Bedrock `:0` stay.
//! - **Dates** ([`strip_date_suffix`]), after a final `-` or `@`: `YYYYMMDD`, `YYYY-MM-DD`,
//!   `YYYYMM`, `YYYY-MM`, `MM-YYYY` (Cohere `command-r-08-2024`), `YYMMDD` (Volcengine
//!   `doubao-1-5-pro-32k-250115`), `MM-DD` (`gemini-2.5-pro-preview-03-25`), and four digits
//!   that read as `MMDD` or `YYMM` (`gpt-4-0613`, `kimi-k2-0905`, `mistral-large-2407`).
//!   Years are 2015..=2039 (`YY` 20..=39), months 01..=12, days 01..=31, so `-8192`, `-2048`,
//!   `-001` are not dates. Only one date is removed, and what remains must contain a letter.
//! - **Sizes** come from the part after the last `/`, split like tags (dots stay): `7b`,
//!   `1.5b`, `270m` (0.27), `1t` (1000), `8x7b` (56, experts × size), Fireworks' `1p7b` (1.7),
//!   Gemma's effective `e4b` (4, counted as the size), `a3b` (3 active). `17b-16e` (Llama 4,
//!   a size followed by an expert count) is the active count; the total is then unknown. The
//!   first total and the first active piece win; totals outside 0.01..=3000 B are ignored, and
//!   an active count not below the total is dropped. Pieces without a unit (`gpt-5`, `glm-4`,
//!   `qwen2.5`, `k2`) are versions, never sizes.
//! - **Context** in a name: `32k`, `1m`, ...: a number that is a power of two is binary
//!   (`128k` = 131072, `256k` = 262144, `1m` = 1048576), any other is decimal (`200k` =
//!   200000, `80k` = 80000, `10m` = 10000000). `Nm` is a context when N <= 10, a parameter
//!   count (millions) above that (`1m` context, `22m` parameters). A last piece that is a
//!   power of two from 2048 to 1048576 is a context too (Groq's `llama3-70b-8192`). Values
//!   outside 512..=20_000_000 are ignored.
//! - **Kind**: first match of rerank, moderation, embedding, audio, image, else chat, on the
//!   words of the id (split on the tag separators and dots); the lists are the
//!   `MODERATION_*`, `EMBEDDING_*`, `AUDIO_*` and `IMAGE_*` constants. Video generation counts as
//!   image (not chat); realtime/live voice models count as audio; guard models (Llama Guard,
//!   ShieldGemma, gpt-oss-safeguard) count as moderation; vision-input models stay chat.

use serde::{Deserialize, Serialize};

/// What a model serves; chat routes pick only `Chat`, `/v1/embeddings` only `Embedding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Chat,
    Embedding,
    Rerank,
    Image,
    Audio,
    Moderation,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Chat => "chat",
            ModelKind::Embedding => "embedding",
            ModelKind::Rerank => "rerank",
            ModelKind::Image => "image",
            ModelKind::Audio => "audio",
            ModelKind::Moderation => "moderation",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NameFacts {
    /// Tags from the name (docs/queries.md): the split pieces, then the complete segments and their
    /// date-stripped forms; lower-case, deduplicated, first-seen order. `free` appears only
    /// when the split produces it (`...:free`); channel tags, price-based `free` and `local`
    /// are added by the catalog, not here.
    pub tags: Vec<String>,
    /// Complete segments and date-stripped complete segments (the subset of `tags` a name
    /// query may match as a whole, docs/queries.md), lower-case.
    pub segments: Vec<String>,
    /// Lower-case id without vendor prefix(es) and without a known `:variant` suffix
    /// (`qwen/qwen3-235b-a22b:free` -> `qwen3-235b-a22b`; `qwen2.5:7b` stays).
    pub base_id: String,
    /// `base_id` without its trailing date, when it has one.
    pub date_alias: Option<String>,
    /// Total parameters in billions.
    pub params_b: Option<f64>,
    /// MoE active parameters in billions (`30b-a3b` -> 3).
    pub active_params_b: Option<f64>,
    pub context_tokens: Option<u64>,
    pub kind: ModelKind,
}

impl NameFacts {
    /// What the name says of size and context, for the catalog's merge
    /// (`facts::ModelFacts::merge`).
    pub fn facts(&self) -> super::facts::ModelFacts {
        super::facts::ModelFacts {
            context_tokens: self.context_tokens,
            params_b: self.params_b,
            active_params_b: self.active_params_b,
        }
    }
}

/// Separators of the tag split (docs/queries.md); dots are not separators.
const TAG_SEPARATORS: [char; 6] = ['/', ':', '@', '-', '_', ','];
/// Separators of the complete-segment split (docs/queries.md).
const SEGMENT_SEPARATORS: [char; 3] = ['/', ':', '@'];

/// Organisation and routing words that are never complete segments. Only words with a digit
/// or a hyphen matter (others fail the segment rule anyway); the rest document the intent.
#[rustfmt::skip]
pub const VENDOR_PREFIXES: &[&str] = &[
    "openai", "anthropic", "qwen", "deepseek", "google", "meta", "meta-llama", "mistral",
    "mistralai", "mistral-ai", "x-ai", "xai", "z-ai", "moonshotai", "minimaxai", "thudm", "baai",
    "nvidia", "microsoft", "amazon", "amazon-nova", "cohere", "ai21", "ai21labs", "ibm-granite",
    "bytedance-seed", "meta-models", "fish-audio", "sentence-transformers", "huggingfaceh4",
    "sao10k", "undi95", "scb10x", "core42", "nousresearch", "01-ai", "bedrock", "azure",
    "azure_ai", "vertex_ai", "openrouter", "together_ai", "fireworks_ai", "siliconflow", "pro",
    "lora", "accounts", "models", "us-gov",
];

/// Words that are never complete segments (variant and channel words; docs/queries.md).
pub const SUFFIX_WORDS: &[&str] = &[
    "free", "pro", "latest", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto",
    "batch", "cloud", "preview", "instruct", "chat",
];

/// `:variant` suffixes removed from the base id (OpenRouter variants, Ollama `latest`/`cloud`).
pub const VARIANT_SUFFIXES: &[&str] = &[
    "free", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto", "batch",
    "latest", "cloud",
];

/// Analyse one model id (docs/queries.md). Never panics; an empty id gives empty facts of kind chat.
pub fn analyse(id: &str) -> NameFacts {
    let lower = id.trim().to_lowercase();
    let (tags, segments) = name_tags(&lower);
    let base_id = base_id_of(&lower);
    let date_alias = strip_date_suffix(base_id).map(str::to_owned);
    let sizes = NameSizes::read(after_last_slash(&lower));
    NameFacts {
        tags,
        segments,
        base_id: base_id.to_owned(),
        date_alias,
        params_b: sizes.total,
        active_params_b: sizes.active,
        context_tokens: sizes.context,
        kind: kind_of(&lower),
    }
}

/// Caps that keep a hostile id from making deduplication quadratic; real ids stay far below.
const MAX_PIECE_TAGS: usize = 48;
const MAX_SEGMENTS: usize = 16;

fn name_tags(lower: &str) -> (Vec<String>, Vec<String>) {
    let mut tags: Vec<String> = Vec::with_capacity(12);
    for piece in lower.split(TAG_SEPARATORS).map(str::trim) {
        if piece.chars().nth(1).is_some() {
            push_unique(&mut tags, piece, MAX_PIECE_TAGS);
        }
    }
    let mut segments: Vec<String> = Vec::with_capacity(4);
    for segment in lower.split(SEGMENT_SEPARATORS).map(str::trim) {
        if !is_complete_segment(segment) {
            continue;
        }
        push_unique(&mut segments, segment, MAX_SEGMENTS);
        if let Some(undated) = strip_date_suffix(segment) {
            if undated.chars().nth(1).is_some() {
                push_unique(&mut segments, undated, MAX_SEGMENTS);
            }
        }
    }
    for segment in &segments {
        push_unique(&mut tags, segment, MAX_PIECE_TAGS + MAX_SEGMENTS);
    }
    (tags, segments)
}

fn push_unique(list: &mut Vec<String>, value: &str, cap: usize) {
    if list.len() < cap && !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// docs/queries.md: >= 3 characters, a letter, a digit or hyphen; not a vendor prefix or suffix word.
fn is_complete_segment(segment: &str) -> bool {
    segment.chars().nth(2).is_some()
        && segment.chars().any(char::is_alphabetic)
        && segment.bytes().any(|b| b.is_ascii_digit() || b == b'-')
        && !segment.contains(',')
        && !VENDOR_PREFIXES.contains(&segment)
        && !SUFFIX_WORDS.contains(&segment)
        && !is_organisation(segment)
        && !is_cloud_region(segment)
        && !is_pricing_dimension(segment)
}

fn is_organisation(segment: &str) -> bool {
    ["-ai", "-org", "-labs", "-inc", "-community"]
        .iter()
        .any(|suffix| segment.ends_with(suffix))
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: LiteLLM routing, not a model.
fn is_cloud_region(segment: &str) -> bool {
    const AREAS: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn"];
    #[rustfmt::skip]
    const DIRECTIONS: &[&str] = &[
        "gov", "east", "west", "north", "south", "central", "northeast", "southeast", "northwest",
        "southwest",
    ];
    let Some((head, number)) = segment.rsplit_once('-') else {
        return false;
    };
    let Some((area, middle)) = head.split_once('-') else {
        return false;
    };
    AREAS.contains(&area)
        && is_all_digits(number)
        && middle.split('-').all(|w| DIRECTIONS.contains(&w))
}

/// LiteLLM price keys: `1024-x-1024`, `max-x-max`, `50-steps`, `1-month-commitment`.
fn is_pricing_dimension(segment: &str) -> bool {
    is_image_resolution(segment) || segment.ends_with("-steps") || segment.ends_with("-commitment")
}

/// `1024-x-1024`, `max-x-max`: an image size in a LiteLLM price key.
fn is_image_resolution(segment: &str) -> bool {
    segment.contains("-x-")
        && (segment.starts_with(|c: char| c.is_ascii_digit()) || segment.starts_with("max-x-"))
}

fn after_last_slash(s: &str) -> &str {
    match s.rfind('/') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

fn base_id_of(lower: &str) -> &str {
    let mut base = after_last_slash(lower);
    while let Some(i) = base.rfind(':') {
        if i == 0 || !VARIANT_SUFFIXES.contains(&&base[i + 1..]) {
            break;
        }
        base = &base[..i];
    }
    base.trim()
}

mod dates;
mod kind;
mod sizes;

pub use dates::strip_date_suffix;
use dates::*;
use kind::*;
use sizes::*;
pub use sizes::{parse_context_size, parse_param_size};

#[cfg(test)]
mod tests;

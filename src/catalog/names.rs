//! Model-name analysis (SPEC §4): everything the catalog derives from a model id alone — tags,
//! complete segments, base id, date alias, parameter counts, context length and kind.
//!
//! Owns: the rules that read a name. Must never: do I/O, consult the knowledge base or a
//! provider's figures (the catalog lets those win over the name), panic on any input, or use
//! regexes. `analyse` runs once per (channel, model) when a catalog is built; it allocates the
//! lower-cased id and the values it returns, nothing else.
//!
//! Rules decided here where the SPEC is silent:
//! - **Tags**: the SPEC rule verbatim on the trimmed, Unicode lower-cased id. Complete segments
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
    /// Tags from the name (SPEC §4): the split pieces, then the complete segments and their
    /// date-stripped forms; lower-case, deduplicated, first-seen order. `free` appears only
    /// when the split produces it (`...:free`); channel tags, price-based `free` and `local`
    /// are added by the catalog, not here.
    pub tags: Vec<String>,
    /// Complete segments and date-stripped complete segments (the subset of `tags` a name
    /// query may match as a whole, SPEC §5), lower-case.
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

/// Separators of the tag split (SPEC §4); dots are not separators.
const TAG_SEPARATORS: [char; 6] = ['/', ':', '@', '-', '_', ','];
/// Separators of the complete-segment split (SPEC §4).
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

/// Words that are never complete segments (variant and channel words; SPEC §4).
pub const SUFFIX_WORDS: &[&str] = &[
    "free", "pro", "latest", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto",
    "batch", "cloud", "preview", "instruct", "chat",
];

/// `:variant` suffixes removed from the base id (OpenRouter variants, Ollama `latest`/`cloud`).
pub const VARIANT_SUFFIXES: &[&str] = &[
    "free", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto", "batch",
    "latest", "cloud",
];

/// Analyse one model id (SPEC §4). Never panics; an empty id gives empty facts of kind chat.
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

/// SPEC §4: >= 3 characters, a letter, a digit or hyphen; not a vendor prefix or suffix word.
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

// ---------------------------------------------------------------------------------------------
// Dates

/// Split a trailing date off (rules in the module doc), returning the part before it.
/// `claude-3-haiku-20240307` -> `claude-3-haiku`; `kimi-k2-0905` -> `kimi-k2`;
/// `llama3-70b-8192` -> None.
pub fn strip_date_suffix(s: &str) -> Option<&str> {
    let (head, last) = split_last_number(s)?;
    let undated = match last.len() {
        2 => strip_two_digit_tail(head, last)?,
        4 => match split_last_number(head) {
            Some((before, month)) if is_month(month) && is_year(last) => before,
            _ if is_mmdd(last) || is_yymm(last) => head,
            _ => return None,
        },
        6 if is_yyyymm(last) || is_yymmdd(last) => head,
        8 if is_yyyymmdd(last) => head,
        _ => return None,
    };
    undated.chars().any(char::is_alphabetic).then_some(undated)
}

/// `...-YYYY-MM-DD`, `...-MM-DD` or `...-YYYY-MM`, given the last two digits.
fn strip_two_digit_tail<'a>(head: &'a str, last: &str) -> Option<&'a str> {
    let (before, prev) = split_last_number(head)?;
    if prev.len() == 2 && is_month(prev) && is_day(last) {
        if let Some((start, year)) = split_last_number(before) {
            if is_year(year) {
                return Some(start);
            }
        }
        return Some(before);
    }
    (is_year(prev) && is_month(last)).then_some(before)
}

/// Split `s` at its last `-` or `@` when everything after it is ASCII digits.
fn split_last_number(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(['-', '@'])?;
    let (head, tail) = (&s[..i], &s[i + 1..]);
    is_all_digits(tail).then_some((head, tail))
}

fn is_all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Value of a short all-ASCII-digit string (callers check the digits and the length).
fn small_number(s: &str) -> u32 {
    s.bytes().fold(0u32, |n, b| {
        n.saturating_mul(10)
            .saturating_add(u32::from(b.wrapping_sub(b'0')))
    })
}

fn is_year(s: &str) -> bool {
    s.len() == 4 && (2015..=2039).contains(&small_number(s))
}
fn is_short_year(s: &str) -> bool {
    s.len() == 2 && (20..=39).contains(&small_number(s))
}
fn is_month(s: &str) -> bool {
    s.len() == 2 && (1..=12).contains(&small_number(s))
}
fn is_day(s: &str) -> bool {
    s.len() == 2 && (1..=31).contains(&small_number(s))
}
fn is_mmdd(s: &str) -> bool {
    s.len() == 4 && is_month(&s[..2]) && is_day(&s[2..])
}
fn is_yymm(s: &str) -> bool {
    s.len() == 4 && is_short_year(&s[..2]) && is_month(&s[2..])
}
fn is_yyyymm(s: &str) -> bool {
    s.len() == 6 && is_year(&s[..4]) && is_month(&s[4..])
}
fn is_yymmdd(s: &str) -> bool {
    s.len() == 6 && is_short_year(&s[..2]) && is_month(&s[2..4]) && is_day(&s[4..])
}
fn is_yyyymmdd(s: &str) -> bool {
    s.len() == 8 && is_year(&s[..4]) && is_month(&s[4..6]) && is_day(&s[6..])
}

// ---------------------------------------------------------------------------------------------
// Sizes and context

/// Parse a size literal as used in queries and names: `7b`, `1.5b`, `270m` (0.27), `1t`
/// (1000), `8x7b` (56); any case. None otherwise (also for zero).
pub fn parse_param_size(s: &str) -> Option<f64> {
    let s = s.trim();
    let (number, unit) = split_unit(s)?;
    let (multiplier, divisor) = match unit {
        b'b' => (1.0, 1.0),
        b'm' => (1.0, 1000.0),
        b't' => (1000.0, 1.0),
        _ => return None,
    };
    let size = match number.split_once(['x', 'X']) {
        Some((experts, each)) => {
            let experts = experts
                .parse::<u16>()
                .ok()
                .filter(|_| is_all_digits(experts))?;
            f64::from(experts) * parse_decimal(each)?
        }
        None => parse_decimal(number)?,
    };
    let billions = size * multiplier / divisor;
    (billions.is_finite() && billions > 0.0).then_some(billions)
}

/// Parse a context literal: `32k` (32768), `128k`, `1m` (1048576), `200k` (200000: a number
/// that is a power of two is binary, any other decimal), `32ki`/`1mi` (always binary), plain
/// digits; any case. None otherwise or on overflow.
pub fn parse_context_size(s: &str) -> Option<u64> {
    let s = s.trim();
    if is_all_digits(s) {
        return s.parse().ok();
    }
    let lower_tail = |suffix: &str| {
        s.len() > suffix.len()
            && s.is_char_boundary(s.len() - suffix.len())
            && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    let (number, binary, decimal) = if lower_tail("ki") {
        (&s[..s.len() - 2], 1024, 1024)
    } else if lower_tail("mi") {
        (&s[..s.len() - 2], 1 << 20, 1 << 20)
    } else if lower_tail("k") {
        (&s[..s.len() - 1], 1024, 1000)
    } else if lower_tail("m") {
        (&s[..s.len() - 1], 1 << 20, 1_000_000)
    } else {
        return None;
    };
    scale_context(number, binary, decimal)
}

fn scale_context(number: &str, binary: u64, decimal: u64) -> Option<u64> {
    if is_all_digits(number) {
        let n: u64 = number.parse().ok()?;
        let unit = if n.is_power_of_two() { binary } else { decimal };
        return n.checked_mul(unit);
    }
    let value = parse_decimal(number)? * decimal as f64;
    (value.is_finite() && value <= u64::MAX as f64).then(|| value.round() as u64)
}

/// `digits` or `digits.digits`, as f64.
fn parse_decimal(s: &str) -> Option<f64> {
    let valid = match s.split_once('.') {
        Some((whole, fraction)) => is_all_digits(whole) && is_all_digits(fraction),
        None => is_all_digits(s),
    };
    if !valid || s.len() > 24 {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Split a literal into its number and lower-cased ASCII unit letter.
fn split_unit(s: &str) -> Option<(&str, u8)> {
    let unit = s.bytes().last()?.to_ascii_lowercase();
    unit.is_ascii_alphabetic()
        .then(|| (&s[..s.len() - 1], unit))
}

const MIN_PARAMS_B: f64 = 0.01;
const MAX_PARAMS_B: f64 = 3000.0;
const MIN_CONTEXT: u64 = 512;
const MAX_CONTEXT: u64 = 20_000_000;

#[derive(Debug, Default)]
struct NameSizes {
    total: Option<f64>,
    active: Option<f64>,
    context: Option<u64>,
}

/// What one name piece says about size.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SizePiece {
    Total(f64),
    Active(f64),
    /// `16e`: an expert count; the size before it is the active count.
    Experts,
    Context(u64),
    Nothing,
}

impl NameSizes {
    /// Read sizes from the model part of a lower-cased id (after the last `/`).
    fn read(model: &str) -> NameSizes {
        let mut sizes = NameSizes::default();
        let mut pieces = model.split(TAG_SEPARATORS).map(str::trim).peekable();
        let mut last = "";
        while let Some(piece) = pieces.next() {
            last = piece;
            match size_piece(piece) {
                SizePiece::Total(b) => {
                    let before_experts =
                        pieces.peek().map(|next| size_piece(next)) == Some(SizePiece::Experts);
                    let slot = if before_experts {
                        &mut sizes.active
                    } else {
                        &mut sizes.total
                    };
                    slot.get_or_insert(b);
                }
                SizePiece::Active(b) => {
                    sizes.active.get_or_insert(b);
                }
                SizePiece::Context(tokens) => {
                    sizes.context.get_or_insert(tokens);
                }
                SizePiece::Experts | SizePiece::Nothing => {}
            }
        }
        if sizes.context.is_none() {
            sizes.context = plain_context(last);
        }
        if let (Some(active), Some(total)) = (sizes.active, sizes.total) {
            if active >= total {
                sizes.active = None;
            }
        }
        sizes
    }
}

fn size_piece(piece: &str) -> SizePiece {
    let Some((number, unit)) = split_unit(piece) else {
        return SizePiece::Nothing;
    };
    let found = match unit {
        b'b' => {
            if let Some(active) = piece.strip_prefix('a') {
                return params(parse_param_size(active))
                    .map_or(SizePiece::Nothing, SizePiece::Active);
            }
            let effective = piece.strip_prefix('e').and_then(parse_param_size);
            effective
                .or_else(|| fireworks_size(number))
                .or_else(|| parse_param_size(piece))
        }
        b't' => parse_param_size(piece),
        b'm' => match parse_decimal(number) {
            Some(n) if n <= 10.0 => return context(parse_context_size(piece)),
            _ => parse_param_size(piece),
        },
        b'k' => return context(parse_context_size(piece)),
        b'e' if is_all_digits(number) && number.len() <= 4 => return SizePiece::Experts,
        _ => None,
    };
    params(found).map_or(SizePiece::Nothing, SizePiece::Total)
}

fn params(billions: Option<f64>) -> Option<f64> {
    billions.filter(|b| (MIN_PARAMS_B..=MAX_PARAMS_B).contains(b))
}

fn context(tokens: Option<u64>) -> SizePiece {
    match tokens {
        Some(t) if (MIN_CONTEXT..=MAX_CONTEXT).contains(&t) => SizePiece::Context(t),
        _ => SizePiece::Nothing,
    }
}

/// Fireworks writes the decimal point as `p`: `qwen3-1p7b` (the `b` already removed).
fn fireworks_size(number: &str) -> Option<f64> {
    let (whole, fraction) = number.split_once('p')?;
    if !is_all_digits(whole) || !is_all_digits(fraction) || whole.len() + fraction.len() > 12 {
        return None;
    }
    let places = fraction.len() as i32;
    let scaled: u64 =
        whole.parse::<u64>().ok()? * 10u64.pow(places as u32) + fraction.parse::<u64>().ok()?;
    Some(scaled as f64 / 10f64.powi(places))
}

/// A bare last piece that is a power of two from 2048 to 1048576 (`llama3-70b-8192`).
fn plain_context(last: &str) -> Option<u64> {
    if !is_all_digits(last) || last.len() > 7 {
        return None;
    }
    let n: u64 = last.parse().ok()?;
    (n.is_power_of_two() && (2048..=1 << 20).contains(&n)).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Kind

/// Words of an id for kind detection: split on tag separators and dots.
fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| TAG_SEPARATORS.contains(&c) || c == '.' || c.is_whitespace())
        .filter(|w| !w.is_empty())
}

fn first_segment(lower: &str) -> &str {
    lower.split(SEGMENT_SEPARATORS).next().unwrap_or_default()
}

fn kind_of(lower: &str) -> ModelKind {
    if is_rerank(lower) {
        ModelKind::Rerank
    } else if is_moderation(lower) {
        ModelKind::Moderation
    } else if is_embedding(lower) {
        ModelKind::Embedding
    } else if is_audio(lower) {
        ModelKind::Audio
    } else if is_image(lower) {
        ModelKind::Image
    } else {
        ModelKind::Chat
    }
}

/// `rerank*` words (`reranker`, `rerankqa`), `*ranker` (`semantic-ranker`), `rank`, `ranking`.
fn is_rerank(lower: &str) -> bool {
    words(lower)
        .any(|w| w.starts_with("rerank") || w.ends_with("ranker") || w == "rank" || w == "ranking")
}

/// Word prefixes of moderation and guard models (Llama Guard, Prompt Guard, Granite Guardian,
/// ShieldGemma, gpt-oss-safeguard, NemoGuard); `content-safety` anywhere also counts.
#[rustfmt::skip]
const MODERATION_PREFIXES: &[&str] = &[
    "moderation", "guard", "llamaguard", "shieldgemma", "safeguard", "nemoguard",
];

fn is_moderation(lower: &str) -> bool {
    lower.contains("content-safety")
        || words(lower).any(|w| MODERATION_PREFIXES.iter().any(|p| w.starts_with(p)))
}

/// Words of embedding families; any id containing `embed` also counts (`text-embedding-3-small`,
/// `nomic-embed-text`, `multimodalembedding`), and `sentence-transformers/` via `sentence`.
#[rustfmt::skip]
const EMBEDDING_WORDS: &[&str] = &[
    "bge", "gte", "e5", "minilm", "mpnet", "voyage", "paraphrase", "retrieval", "uae", "colbert",
    "sentence",
];

fn is_embedding(lower: &str) -> bool {
    lower.contains("embed") || words(lower).any(|w| EMBEDDING_WORDS.contains(&w))
}

/// Speech-to-text, text-to-speech, realtime voice and music words; any word ending in `tts`
/// (`indextts`) also counts.
#[rustfmt::skip]
const AUDIO_WORDS: &[&str] = &[
    "tts", "ttsd", "stt", "asr", "transcribe", "transcription", "diarize", "speech", "realtime",
    "voice", "audio", "live", "sonic", "orpheus", "kokoro", "chirp", "lyria", "scribe", "eleven",
    "parakeet", "canary",
];
const AUDIO_PREFIXES: &[&str] = &["whisper", "cosyvoice", "sensevoice"];
/// Audio-only vendors, as the first segment (`deepgram/nova-3`).
#[rustfmt::skip]
const AUDIO_VENDORS: &[&str] = &[
    "deepgram", "elevenlabs", "assemblyai", "aws_polly", "soniox", "cartesia", "fishaudio",
    "sesame",
];

fn is_audio(lower: &str) -> bool {
    AUDIO_VENDORS.contains(&first_segment(lower))
        || words(lower).any(|w| {
            AUDIO_WORDS.contains(&w)
                || w.ends_with("tts")
                || AUDIO_PREFIXES.iter().any(|p| w.starts_with(p))
        })
}

/// Image and video generation. Phrases match anywhere; words and prefixes match words.
const IMAGE_PHRASES: &[&str] = &[
    "dall-e",
    "gpt-image",
    "stable-diffusion",
    "nano-banana",
    "to-image",
    "to-video",
];
#[rustfmt::skip]
const IMAGE_WORDS: &[&str] = &[
    "image", "images", "imagine", "video", "sd", "sd3", "ssd", "sora", "kling", "hailuo", "t2v",
    "i2v", "r2v", "t2i", "canvas", "inpaint", "outpaint", "upscale", "recraft", "ideogram", "krea",
    "riverflow", "aleph", "happyhorse", "wan", "gen4", "stability", "midjourney", "playground",
];
#[rustfmt::skip]
const IMAGE_PREFIXES: &[&str] = &[
    "imagen", "flux", "sdxl", "seedream", "seedance", "seededit", "seed3d", "kolors", "hidream",
    "cogview", "cogvideo", "veo",
];
/// Image/video-only vendors, as the first segment (`black-forest-labs/flux.2-pro`).
#[rustfmt::skip]
const IMAGE_VENDORS: &[&str] = &[
    "black-forest-labs", "black_forest_labs", "fal_ai", "fal-ai", "runway", "runwayml", "luma",
    "lumaai", "kwaivgi", "bfl",
];

/// Also LiteLLM keys with an image resolution segment (`1024-x-1024/...`).
fn is_image(lower: &str) -> bool {
    IMAGE_VENDORS.contains(&first_segment(lower))
        || IMAGE_PHRASES.iter().any(|p| lower.contains(p))
        || lower.split(SEGMENT_SEPARATORS).any(is_image_resolution)
        || words(lower)
            .any(|w| IMAGE_WORDS.contains(&w) || IMAGE_PREFIXES.iter().any(|p| w.starts_with(p)))
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;

//! The built-in knowledge base of known models: context window, parameter count, prices per
//! 1M tokens, a quality figure and the kind, for about 3,500 model keys, compiled into the
//! binary from `data/knowledge.tsv` (written by `scripts/build_knowledge.py`; see
//! README "Knowledge base" for sources and how to refresh it).
//!
//! Owns: parsing that table once (on first use) and answering "what do we know about the
//! model a channel calls `X`?" for every (channel, model) when the catalog is built.
//! Never: does I/O at run time, panics on any model id, or guesses: an empty cell stays
//! `None`, and facts the model's name carries (`7b`, `128k`) are `names.rs`'s job, not ours.
//! A channel's own figures (discovery, `model_pricing`) win over these; these win over the
//! name (docs/queries.md). `quality` is the Artificial Analysis intelligence index scaled to 0..1 by
//! the highest in the data; unknown means "neutral" to the scorer (docs/ranking.md).
//!
//! # Key rule (the script applies the same rule; tests check both agree)
//! A model id becomes a chain of keys, most specific first; `lookup` returns the first key
//! that has a row. All keys of a chain are prefixes of the first at a `-` boundary, so a
//! lookup builds one string and probes the map once per key, without regexes.
//! 1. ASCII-lower-case; trim ASCII whitespace; keep what follows the last `/` (vendor and
//!    routing prefixes: `openrouter/qwen/…`, `Pro/…`, `LoRA/…`, `accounts/fireworks/models/…`);
//!    cut at the first `@` unless it is the first character (`claude-haiku-4-5@20251001`,
//!    LM Studio `…@q4_k_m`).
//! 2. Bedrock dotted prefixes: an optional region (`us. eu. apac. au. jp. ca. in. global.
//!    us-gov.`) and then a vendor (`anthropic. meta. amazon. openai. qwen. mistral. cohere.
//!    minimax. …`) are dropped; when what remains starts with a letter and a digit
//!    (`deepseek.v3.2`, `deepseek.r1`), the vendor is kept as a piece (`deepseek-v3.2`).
//! 3. Split at the first `:` into name and tag. An all-digit tag is a Bedrock revision: it
//!    goes, and so does the name's last piece when it is `v1`/`1`, or `vN` right after a date
//!    (`…-20241022-v2:0`). A tag in {free, beta, thinking, extended, nitro, floor, online,
//!    exacto, latest, default} goes. Any other tag is an Ollama tag: its pieces follow the
//!    name's (`qwen2.5:7b-instruct` → `qwen2.5-7b-instruct`).
//! 4. Pieces are split on `-` (empty ones dropped). Trailing quantisation/format pieces go
//!    while more than one piece is left: `q4_k_m`, `q8_0`, `iq3_xs` (q/iq + digits + `_x…`),
//!    `fp16 fp32 fp8 fp4 f16 f32 bf16 int4 int8 awq gptq gguf ggml mlx qat exl2 nvfp4 mxfp4`,
//!    `4bit`, `w4a16`, and `latest`.
//! 5. Fireworks decimals: a `p` between two digits is a `.` (`glm-4p5` → `glm-4.5`). A
//!    one-digit piece after a piece ending in a digit joins it with `.` (`claude-3-5-sonnet`
//!    → `claude-3.5-sonnet`, `doubao-1-5-pro` → `doubao-1.5-pro`), but never across the
//!    name/tag boundary.
//! 6. The chain: the full key; then without a trailing date (`-20240307`, Volcengine Ark's
//!    `-250115` YYMMDD, `-2024-08-06`); then, from that, without a 4-digit version that
//!    reads as MMDD or YYMM (`-0905`, `-2407`) or `-001`…`-009`; then, for Ollama ids, the
//!    key with tag pieces dropped from the end down to the bare family
//!    (`qwen2.5:7b-instruct-q4_K_M` → `qwen2.5-7b-instruct`, `qwen2.5-7b`, `qwen2.5`).
//!
//! Rules decided here: dated rows exist where a source names the
//! dated model (`gpt-4o-2024-05-13` is priced differently from `gpt-4o`); an undated family
//! key answers for its dated ids; prices are the vendor's own list price where one is
//! public (a reseller's otherwise), so a `0` means the vendor serves the model free
//! (`glm-4-flash`), not that every channel does: the catalog should take `free` from the
//! channel, not from here. A table that fails to parse yields an empty knowledge base
//! (every lookup is `None`, i.e. neutral); the tests make sure the shipped table parses
//! completely. Lookup cost: about 0.3 µs per id (release build); the table parses in about
//! 1.5 ms on first use.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The table, compiled in.
const TABLE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/knowledge.tsv"));

const HEADER: &str = "key\tcontext_tokens\tparams_b\tactive_params_b\tinput_per_1m_usd\t\
                      output_per_1m_usd\tcached_input_per_1m_usd\tquality\tkind\t\
                      cache_write_per_1m_usd";

const KINDS: [&str; 6] = [
    "chat",
    "embedding",
    "rerank",
    "image",
    "audio",
    "moderation",
];

/// What the knowledge base knows about one model key. `None` = unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownModel {
    /// The normalised key of the row (see the key rule above).
    pub key: &'static str,
    pub context_tokens: Option<u64>,
    /// Total parameters, billions.
    pub params_b: Option<f64>,
    /// Active parameters per token for mixture-of-experts models, billions.
    pub active_params_b: Option<f64>,
    /// USD per 1M input tokens.
    pub input_per_1m: Option<f64>,
    /// USD per 1M output tokens.
    pub output_per_1m: Option<f64>,
    /// USD per 1M cached (cache-read) input tokens.
    pub cached_input_per_1m: Option<f64>,
    /// USD per 1M input tokens written to the prompt cache (Anthropic's 5-minute cache write).
    pub cache_write_per_1m: Option<f64>,
    /// 0..=1, higher is better.
    pub quality: Option<f64>,
    /// One of `chat`, `embedding`, `rerank`, `image`, `audio`, `moderation`.
    pub kind: Option<&'static str>,
}

impl KnownModel {
    /// The row's size and context, for the catalog's merge (`facts::ModelFacts::merge`).
    pub fn facts(&self) -> super::facts::ModelFacts {
        super::facts::ModelFacts {
            context_tokens: self.context_tokens,
            params_b: self.params_b,
            active_params_b: self.active_params_b,
        }
    }
}

/// Look a model id up as a channel reports it. None when unknown.
pub fn lookup(model_id: &str) -> Option<&'static KnownModel> {
    let base: &'static KnowledgeBase = &KNOWLEDGE;
    let chain = KeyChain::of(model_id)?;
    let row = chain.keys().find_map(|key| base.by_key.get(key).copied())?;
    base.models.get(row)
}

/// The normalised lookup keys tried for an id, most specific first (exposed for tests and
/// `explain`).
pub fn lookup_keys(model_id: &str) -> Vec<String> {
    KeyChain::of(model_id)
        .map(|chain| chain.keys().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// How many model keys the knowledge base holds.
pub fn len() -> usize {
    KNOWLEDGE.models.len()
}

/// Where `quality` stands among every known quality figure, in [0, 1] (the share of known
/// models below it, ties counted half). The scorer uses this rank, so the median known
/// model scores 0.5, the same as an unknown one: "neutral when unknown" (docs/ranking.md) then
/// neither rewards nor punishes a model for missing from the benchmark data.
pub fn quality_rank(quality: f64) -> f64 {
    let sorted = &*SORTED_QUALITIES;
    if sorted.is_empty() || !quality.is_finite() {
        return 0.5;
    }
    let below = sorted.partition_point(|q| *q < quality);
    let not_above = sorted.partition_point(|q| *q <= quality);
    (below + not_above) as f64 / (2 * sorted.len()) as f64
}

static SORTED_QUALITIES: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let mut qualities: Vec<f64> = KNOWLEDGE
        .models
        .iter()
        .filter_map(|m| m.quality)
        .filter(|q| q.is_finite())
        .collect();
    qualities.sort_by(f64::total_cmp);
    qualities
});

static KNOWLEDGE: LazyLock<KnowledgeBase> =
    LazyLock::new(|| KnowledgeBase::parse(TABLE).unwrap_or_default());

#[derive(Debug, Default)]
struct KnowledgeBase {
    models: Vec<KnownModel>,
    by_key: HashMap<&'static str, usize>,
}

/// Why the table did not parse: the 1-based line and what was wrong there.
#[derive(Debug, PartialEq)]
struct TableError {
    line: usize,
    reason: String,
}

impl KnowledgeBase {
    /// All or nothing: one bad row rejects the table, so no row is ever skipped silently.
    fn parse(text: &'static str) -> Result<Self, TableError> {
        let mut base = KnowledgeBase::default();
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            let at = |reason: String| TableError {
                line: index + 1,
                reason,
            };
            if line.starts_with('#') {
                continue;
            }
            if !header_seen {
                if line != HEADER {
                    return Err(at(format!("expected the header `{HEADER}`")));
                }
                header_seen = true;
                continue;
            }
            let model = parse_row(line).map_err(at)?;
            if base.by_key.insert(model.key, base.models.len()).is_some() {
                return Err(at(format!("duplicate key `{}`", model.key)));
            }
            base.models.push(model);
        }
        if !header_seen {
            return Err(TableError {
                line: 0,
                reason: "no header line".to_owned(),
            });
        }
        Ok(base)
    }
}

fn parse_row(line: &'static str) -> Result<KnownModel, String> {
    let cells: Vec<&'static str> = line.split('\t').collect();
    let [key, context, params, active, input, output, cached, quality_cell, kind, write] =
        cells[..]
    else {
        return Err(format!(
            "expected 10 tab-separated cells, found {}",
            cells.len()
        ));
    };
    if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c.is_ascii_uppercase()) {
        return Err(format!("bad key `{key}`"));
    }
    let kind = match kind {
        "" => None,
        known if KINDS.contains(&known) => Some(known),
        other => return Err(format!("unknown kind `{other}`")),
    };
    let quality = number("quality", quality_cell)?;
    if quality.is_some_and(|q| q > 1.0) {
        return Err(format!("quality `{quality_cell}` is above 1"));
    }
    Ok(KnownModel {
        key,
        context_tokens: tokens(context)?,
        params_b: number("params_b", params)?,
        active_params_b: number("active_params_b", active)?,
        input_per_1m: number("input_per_1m_usd", input)?,
        output_per_1m: number("output_per_1m_usd", output)?,
        cached_input_per_1m: number("cached_input_per_1m_usd", cached)?,
        cache_write_per_1m: number("cache_write_per_1m_usd", write)?,
        quality,
        kind,
    })
}

fn tokens(cell: &str) -> Result<Option<u64>, String> {
    match cell {
        "" => Ok(None),
        _ => match cell.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!("context_tokens `{cell}` is not a positive integer")),
        },
    }
}

fn number(column: &str, cell: &str) -> Result<Option<f64>, String> {
    match cell {
        "" => Ok(None),
        _ => match cell.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(format!("{column} `{cell}` is not a non-negative number")),
        },
    }
}

// ------------------------------------------------------------------------------------------
// The key rule
// ------------------------------------------------------------------------------------------

const BEDROCK_REGIONS: [&str; 9] = [
    "us", "eu", "apac", "au", "jp", "ca", "in", "global", "us-gov",
];
const BEDROCK_VENDORS: [&str; 20] = [
    "anthropic",
    "meta",
    "amazon",
    "openai",
    "qwen",
    "mistral",
    "cohere",
    "minimax",
    "stability",
    "xai",
    "moonshotai",
    "moonshot",
    "nvidia",
    "google",
    "deepseek",
    "twelvelabs",
    "zai",
    "writer",
    "ai21",
    "luma",
];
const VARIANT_TAGS: [&str; 10] = [
    "free", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto", "latest",
    "default",
];
const QUANT_WORDS: [&str; 19] = [
    "f16", "f32", "fp16", "fp32", "fp8", "fp4", "bf16", "int4", "int8", "awq", "gptq", "gguf",
    "ggml", "mlx", "qat", "exl2", "nvfp4", "mxfp4", "latest",
];

/// The first (most specific) key of an id, and the byte lengths of all keys of its chain,
/// longest first; every key is `key[..len]`.
struct KeyChain {
    key: String,
    lens: Vec<usize>,
}

impl KeyChain {
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.lens.iter().filter_map(|&len| self.key.get(..len))
    }

    fn of(model_id: &str) -> Option<KeyChain> {
        let lower = model_id.to_ascii_lowercase();
        let trimmed = lower.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'));
        let (pieces, family) = pieces(trimmed);
        let (key, ends, family) = join(&pieces, family);
        let lens = chain_lens(&key, &ends, family);
        (!lens.is_empty()).then_some(KeyChain { key, lens })
    }
}

/// Steps 1-4: the raw pieces and how many of them belong to the name (before the tag).
fn pieces(id: &str) -> (Vec<&str>, usize) {
    let s = id.rfind('/').and_then(|i| id.get(i + 1..)).unwrap_or(id);
    let s = match s.find('@') {
        Some(at) if at > 0 => s.get(..at).unwrap_or(s),
        _ => s,
    };
    let (vendor, s) = strip_dotted_vendor(s);
    let (name, mut tag) = s.split_once(':').unwrap_or((s, ""));
    let mut pieces: Vec<&str> = vendor
        .into_iter()
        .chain(name.split('-').filter(|p| !p.is_empty()))
        .collect();
    if is_digits(tag) {
        tag = "";
        if drops_with_revision(&pieces) {
            pieces.pop();
        }
    }
    if VARIANT_TAGS.contains(&tag) {
        tag = "";
    }
    let family = pieces.len();
    pieces.extend(tag.split(['-', ':']).filter(|p| !p.is_empty()));
    while pieces.len() > 1 && pieces.last().is_some_and(|p| is_quant_piece(p)) {
        pieces.pop();
    }
    let family = family.min(pieces.len());
    (pieces, family)
}

/// `-v1:0`, `-1:0` and `-20241022-v2:0`: the Bedrock version piece before a revision.
fn drops_with_revision(pieces: &[&str]) -> bool {
    match pieces {
        [.., before, last] => {
            *last == "v1"
                || *last == "1"
                || (last.strip_prefix('v').is_some_and(is_digits) && is_date_piece(before))
        }
        _ => false,
    }
}

fn strip_dotted_vendor(s: &str) -> (Option<&str>, &str) {
    let Some((mut head, mut rest)) = s.split_once('.') else {
        return (None, s);
    };
    if BEDROCK_REGIONS.contains(&head) {
        match rest.split_once('.') {
            Some((vendor, model)) => (head, rest) = (vendor, model),
            None => return (None, s),
        }
    }
    if !BEDROCK_VENDORS.contains(&head) || rest.is_empty() {
        return (None, s);
    }
    match rest.as_bytes() {
        [letter, digit, ..] if letter.is_ascii_lowercase() && digit.is_ascii_digit() => {
            (Some(head), rest)
        }
        _ => (None, rest),
    }
}

/// Step 5: the key, the byte end of each (merged) piece, and the family in merged pieces.
fn join(pieces: &[&str], family: usize) -> (String, Vec<usize>, usize) {
    let mut key = String::with_capacity(pieces.iter().map(|p| p.len() + 1).sum());
    let mut ends: Vec<usize> = Vec::with_capacity(pieces.len());
    let mut merged_family = 0;
    for (i, raw) in pieces.iter().enumerate() {
        let one_digit = matches!(raw.as_bytes(), [d] if d.is_ascii_digit());
        let after_digit = key.as_bytes().last().is_some_and(u8::is_ascii_digit);
        let merge = !ends.is_empty() && i != family && one_digit && after_digit;
        if merge {
            key.push('.');
        } else if !ends.is_empty() {
            key.push('-');
        }
        push_decimal_p(&mut key, raw);
        match ends.last_mut() {
            Some(end) if merge => *end = key.len(),
            _ => ends.push(key.len()),
        }
        if i + 1 == family {
            merged_family = ends.len();
        }
    }
    (key, ends, merged_family)
}

fn push_decimal_p(key: &mut String, piece: &str) {
    let bytes = piece.as_bytes();
    for (i, c) in piece.char_indices() {
        let digit_at =
            |j: Option<usize>| j.and_then(|j| bytes.get(j)).is_some_and(u8::is_ascii_digit);
        let decimal = c == 'p' && digit_at(i.checked_sub(1)) && digit_at(i.checked_add(1));
        key.push(if decimal { '.' } else { c });
    }
}

/// Step 6: byte lengths of the chain's keys, longest first.
fn chain_lens(key: &str, ends: &[usize], family: usize) -> Vec<usize> {
    let n = ends.len();
    let piece = |k: usize| -> &str {
        let start = if k == 0 {
            0
        } else {
            ends.get(k - 1).map_or(0, |e| e + 1)
        };
        ends.get(k)
            .and_then(|&end| key.get(start..end))
            .unwrap_or("")
    };
    if n == 0 {
        return Vec::new();
    }
    let mut counts = vec![n];
    let mut cut = n;
    if cut > 3 && is_iso_date(piece(cut - 3), piece(cut - 2), piece(cut - 1)) {
        cut -= 3;
    } else if cut > 1 && is_date_piece(piece(cut - 1)) {
        cut -= 1;
    }
    counts.push(cut);
    if cut > 1 && is_version_piece(piece(cut - 1)) {
        counts.push(cut - 1);
    }
    if family > 0 && family < n {
        counts.extend(family..n);
    }
    counts.sort_unstable_by(|a, b| b.cmp(a));
    counts.dedup();
    counts
        .into_iter()
        .filter_map(|c| c.checked_sub(1).and_then(|i| ends.get(i)).copied())
        .collect()
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_quant_piece(p: &str) -> bool {
    if QUANT_WORDS.contains(&p) {
        return true;
    }
    if let Some(body) = p.strip_prefix("iq").or_else(|| p.strip_prefix('q')) {
        let (head, tail) = body.split_once('_').unwrap_or((body, ""));
        return is_digits(head)
            && tail
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_');
    }
    if let Some(bits) = p.strip_suffix("bit") {
        return is_digits(bits);
    }
    match p.strip_prefix('w').and_then(|rest| rest.split_once('a')) {
        Some((w, a)) => is_digits(w) && is_digits(a),
        None => false,
    }
}

/// Two ASCII digits as a number (callers check the digits first).
fn two(s: &str) -> u32 {
    s.bytes()
        .fold(0, |n, b| n * 10 + u32::from(b.wrapping_sub(b'0')))
}

fn month_day(mm: &str, dd: &str) -> bool {
    (1..=12).contains(&two(mm)) && (1..=31).contains(&two(dd))
}

/// `20240307` (YYYYMMDD) or `250115` (YYMMDD, Volcengine Ark).
fn is_date_piece(p: &str) -> bool {
    if !is_digits(p) {
        return false;
    }
    match (p.len(), p.get(..2), p.get(2..4), p.get(4..6), p.get(6..8)) {
        (8, Some(c), Some(_), Some(mm), Some(dd)) => c == "20" && month_day(mm, dd),
        (6, Some(yy), Some(mm), Some(dd), None) => ("23"..="29").contains(&yy) && month_day(mm, dd),
        _ => false,
    }
}

/// `2024`, `08`, `06`: the pieces of `-2024-08-06`.
fn is_iso_date(y: &str, m: &str, d: &str) -> bool {
    y.len() == 4
        && is_digits(y)
        && y.starts_with("20")
        && m.len() == 2
        && is_digits(m)
        && d.len() == 2
        && is_digits(d)
        && month_day(m, d)
}

/// `0905`, `2407` (MMDD or YYMM) and `001`..`009`.
fn is_version_piece(p: &str) -> bool {
    if !is_digits(p) {
        return false;
    }
    match (p.len(), p.get(..2), p.get(2..)) {
        (4, Some(a), Some(b)) => {
            month_day(a, b) || (("23"..="29").contains(&a) && (1..=12).contains(&two(b)))
        }
        (3, Some("00"), Some(_)) => p != "000",
        _ => false,
    }
}

#[cfg(test)]
#[path = "knowledge_tests.rs"]
mod tests;

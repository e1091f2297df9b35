//! Model-list responses → [`DiscoveredModel`]s (docs/config.md, docs/discovery.md).
//!
//! Owns: turning the body of `GET {base_url}{models_endpoint}` into one list shape, whatever
//! the provider returned — OpenAI-style `{"data":[…]}` (OpenAI, DeepSeek, xAI, Groq, Mistral,
//! OpenRouter, SiliconFlow, Novita, Chutes, Vercel, SambaNova, Fireworks, Hyperbolic, Ollama and
//! LM Studio `/v1/models`, LM Studio `/api/v0/models`), Anthropic `{"data":[…],"has_more"}`,
//! `{"models":[…]}` (Ollama `/api/tags`, Cohere, LM Studio `/api/v1/models`, Volcengine Ark's
//! reduced list) and a bare array (Together, GitHub Models). Each entry keeps the facts the
//! provider states: context, parameter count, USD per 1M prices, kind.
//!
//! Never: does I/O, panics on any input (bytes, JSON shape, field types), clones a model's
//! upstream entry (entries are moved into `raw`), or guesses from the model *name* — names are
//! `catalog::names`' job; a field here is `None` unless the provider says it.
//!
//! Rules decided here:
//! - Shape is detected from the body; [`ResponseFormat`] only breaks a tie when both `data` and
//!   `models` are arrays (`Ollama` prefers `models`, the others `data`).
//! - `data`/`models` = `null` is an empty list (Ollama answers `"data":null` when it has no
//!   models), unless the object also carries an upstream error, which then wins.
//! - An object without an array under `data`/`models` but with `error` (string, or object with
//!   `message`), or a string `message`/`detail`, is the upstream's error: its text is quoted,
//!   cut to 200 characters, control characters blanked. Any other object is named by its
//!   keys (sorted, at most 8) so the message is the same whatever serde_json's map order.
//! - The id is the first present, non-null key of `id`, `key` (LM Studio native), `name`
//!   (Cohere, Ollama tags), `model`; if that value is not a non-blank string the entry is
//!   skipped. A bare string in the list is an id. Ids are kept verbatim (case, spaces).
//! - Duplicate ids: first wins. Groq's `active: false` entries are skipped (not served).
//!   Skips are counted in [`SkippedEntries`] for the caller's log line.
//! - Mistral `aliases` do not become extra ids: Mistral lists every alias as its own entry.
//! - Context: first positive integer of `context_length`, `context_window`,
//!   `max_context_length`, `context_size`, `max_model_len`, `top_provider.context_length`,
//!   `model_spec.availableContextTokens`, `capabilities.limits.max_context_window_tokens`,
//!   `limits.max_input_tokens`; 0 means unknown (Together, OpenRouter's audio/video models).
//!   LM Studio's loaded-instance context is ignored: `max_context_length` is the model's.
//! - Prices, all to USD per 1M tokens, computed on the decimal text (no float noise) and
//!   rounded to 1e-9; a negative price (OpenRouter routers' `"-1"`) is unknown:
//!   `pricing.prompt/completion/input_cache_read` (OpenRouter, SambaNova) are per token;
//!   `pricing.input/output` are per 1M when `pricing` has Together's `hourly`/`base`/`finetune`
//!   keys, else per token (Vercel, + `input_cache_read`); Novita's `*_token_price_per_m` are in
//!   0.0001 USD per 1M (2800 = $0.28; checked against LiteLLM's Novita prices); Requesty's
//!   `input_price/output_price/cached_price` per token; Chutes' `price.usd` is one per-1M price
//!   for input and output (inferred from its magnitudes, no vendor doc at hand); Venice's
//!   `model_spec.pricing.input/output.usd` per 1M.
//!   `pricing.overrides` (tiers) is ignored: the base price is the untiered one.
//! - Parameters: Ollama `details.parameter_size` or LM Studio `params_string`: `14.8B`,
//!   `137M` = 0.137, `1T` = 1000, `8x7B` = 56, `26B-A4B` = 26 total / 4 active.
//! - Kind, first that speaks: output modalities (OpenRouter `architecture.output_modalities`,
//!   else the part after `->` of `architecture.modality`; GitHub
//!   `supported_output_modalities`): any `text` = chat, else embeddings/rerank/image/audio;
//!   video generation counts as `image` (there is no video kind; it must never be chat).
//!   Then a type word (`type`, `model_type`, `capabilities.type`: Together, LM Studio, Novita,
//!   Venice, Copilot): `llm`/`vlm`/`language`/`text` = chat, `transcribe`/`tts` = audio, ….
//!   Then Cohere `endpoints` (chat/generate, embed*, rerank), Mistral
//!   `capabilities.completion_chat: true` = chat, Ollama `details.family(ies)` containing
//!   `bert` = embedding. Fireworks/Hyperbolic `supports_chat` is not used: Fireworks sets it on
//!   FLUX image models.

use serde_json::{Map, Value};

use super::entry_fields::*;
use std::collections::HashSet;
use std::fmt;

pub use crate::catalog::facts::DiscoveredModel;

/// `format` of providers.yaml: a hint; the shape of the body decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    OpenAi,
    Ollama,
    Anthropic,
}

/// Why a models response could not be read; the message is meant for logs and `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelListError {
    message: String,
}

impl ModelListError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ModelListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModelListError {}

/// Entries of the list that did not become models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkippedEntries {
    /// No usable string id.
    pub without_id: usize,
    /// Same id as an earlier entry.
    pub duplicate: usize,
    /// `active: false` (Groq).
    pub inactive: usize,
}

/// The models of one response and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelList {
    pub models: Vec<DiscoveredModel>,
    pub skipped: SkippedEntries,
}

/// Parses a models response body into models, in upstream order, ids unique.
pub fn parse_model_list(
    format: ResponseFormat,
    body: &[u8],
) -> Result<Vec<DiscoveredModel>, ModelListError> {
    parse_model_list_counted(format, body).map(|list| list.models)
}

/// [`parse_model_list`], also counting the entries it skipped.
pub fn parse_model_list_counted(
    format: ResponseFormat,
    body: &[u8],
) -> Result<ModelList, ModelListError> {
    let value = decode_body(body)?;
    let entries = list_entries(format, value)?;
    Ok(collect_models(entries))
}

const EXPECTED_SHAPE: &str = "expected a JSON object with `data` or `models`, or an array";
const UPSTREAM_MESSAGE_CHARS: usize = 200;

fn decode_body(body: &[u8]) -> Result<Value, ModelListError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.trim_ascii_start();
    if start.is_empty() {
        return Err(ModelListError::new(format!("empty body; {EXPECTED_SHAPE}")));
    }
    if start.first() == Some(&b'<') {
        return Err(markup_error(start));
    }
    serde_json::from_slice(body).map_err(|e| ModelListError::new(format!("not JSON: {e}")))
}

fn markup_error(start: &[u8]) -> ModelListError {
    let starts_with = |prefix: &[u8]| {
        start
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let what = if starts_with(b"<!doctype html") || starts_with(b"<html") {
        "an HTML page"
    } else {
        "markup (HTML or XML)"
    };
    let head = start.get(..200).unwrap_or(start);
    let first_line = String::from_utf8_lossy(head);
    let first_line = first_line.lines().next().unwrap_or_default();
    ModelListError::new(format!(
        "not JSON but {what} (starts with \"{}\"); check the channel's base_url and models_endpoint",
        quoted_excerpt(first_line, 40)
    ))
}

fn list_entries(format: ResponseFormat, value: Value) -> Result<Vec<Value>, ModelListError> {
    match value {
        Value::Array(entries) => Ok(entries),
        Value::Object(map) => object_entries(format, map),
        other => Err(ModelListError::new(format!(
            "{EXPECTED_SHAPE}; got {}",
            describe(&other)
        ))),
    }
}

fn object_entries(
    format: ResponseFormat,
    mut map: Map<String, Value>,
) -> Result<Vec<Value>, ModelListError> {
    let keys = match format {
        ResponseFormat::Ollama => ["models", "data"],
        ResponseFormat::OpenAi | ResponseFormat::Anthropic => ["data", "models"],
    };
    let listed = keys.iter().find_map(|key| match map.get_mut(*key) {
        Some(Value::Array(entries)) => Some(std::mem::take(entries)),
        _ => None,
    });
    if let Some(entries) = listed {
        return Ok(entries);
    }
    if let Some(message) = upstream_error(&map) {
        return Err(ModelListError::new(format!(
            "upstream returned an error: {}",
            quoted_excerpt(&message, UPSTREAM_MESSAGE_CHARS)
        )));
    }
    match keys.iter().find_map(|k| map.get(*k).map(|v| (*k, v))) {
        Some((_, Value::Null)) => Ok(Vec::new()),
        Some((key, other)) => Err(ModelListError::new(format!(
            "`{key}` should be an array of models; got {}",
            describe(other)
        ))),
        None => Err(ModelListError::new(format!(
            "{EXPECTED_SHAPE}; got {}",
            describe_object_keys(&map)
        ))),
    }
}

/// The upstream's own error text, if the object is an error body.
fn upstream_error(map: &Map<String, Value>) -> Option<String> {
    match map.get("error") {
        Some(Value::String(text)) => return Some(text.clone()),
        Some(Value::Object(error)) => {
            return Some(match error.get("message") {
                Some(Value::String(text)) => text.clone(),
                _ => serde_json::to_string(error).unwrap_or_default(),
            })
        }
        Some(Value::Null) | None => {}
        Some(other) => return Some(other.to_string()),
    }
    ["message", "detail"]
        .iter()
        .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_owned))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe_object_keys(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "an empty object".to_owned();
    }
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    let mut text = String::from("an object with keys ");
    for (i, key) in keys.iter().take(8).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push('`');
        text.push_str(&quoted_excerpt(key, 40));
        text.push('`');
    }
    if map.len() > 8 {
        text.push_str(", …");
    }
    text
}

/// At most `max_chars` characters of `text`, control characters blanked, `…` when cut.
fn quoted_excerpt(text: &str, max_chars: usize) -> String {
    let mut excerpt: String = text
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max_chars).is_some() {
        excerpt.push('…');
    }
    excerpt
}

fn collect_models(entries: Vec<Value>) -> ModelList {
    let mut models = Vec::with_capacity(entries.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(entries.len());
    let mut skipped = SkippedEntries::default();
    for entry in entries {
        match model_from_entry(entry) {
            EntryOutcome::Model(model) => {
                if seen.insert(model.id.clone()) {
                    models.push(*model);
                } else {
                    skipped.duplicate += 1;
                }
            }
            EntryOutcome::WithoutId => skipped.without_id += 1,
            EntryOutcome::Inactive => skipped.inactive += 1,
        }
    }
    ModelList { models, skipped }
}

enum EntryOutcome {
    Model(Box<DiscoveredModel>),
    WithoutId,
    Inactive,
}

fn model_from_entry(entry: Value) -> EntryOutcome {
    let (id, facts) = match &entry {
        Value::String(id) if is_usable_id(id) => (id.clone(), EntryFacts::default()),
        Value::Object(map) => {
            let Some(id) = entry_id(map) else {
                return EntryOutcome::WithoutId;
            };
            if map.get("active") == Some(&Value::Bool(false)) {
                return EntryOutcome::Inactive;
            }
            (id, EntryFacts::read(map))
        }
        _ => return EntryOutcome::WithoutId,
    };
    EntryOutcome::Model(Box::new(DiscoveredModel {
        id,
        context_tokens: facts.context_tokens,
        params_b: facts.params.map(|p| p.total_b),
        active_params_b: facts.params.and_then(|p| p.active_b),
        input_per_1m: facts.prices.input,
        output_per_1m: facts.prices.output,
        cached_input_per_1m: facts.prices.cached_input,
        cache_write_per_1m: facts.prices.cache_write,
        kind_hint: facts.kind.map(str::to_owned),
        raw: entry,
    }))
}

const ID_KEYS: [&str; 4] = ["id", "key", "name", "model"];

fn entry_id(map: &Map<String, Value>) -> Option<String> {
    let value = ID_KEYS
        .iter()
        .find_map(|key| map.get(*key).filter(|v| !v.is_null()))?;
    value
        .as_str()
        .filter(|id| is_usable_id(id))
        .map(str::to_owned)
}

fn is_usable_id(id: &str) -> bool {
    !id.trim().is_empty()
}

#[derive(Default)]
struct EntryFacts {
    context_tokens: Option<u64>,
    params: Option<ParameterCount>,
    prices: Prices,
    kind: Option<&'static str>,
}

impl EntryFacts {
    fn read(map: &Map<String, Value>) -> Self {
        Self {
            context_tokens: context_tokens(map),
            params: parameter_count(map),
            prices: prices(map),
            kind: kind_hint(map),
        }
    }
}

const CONTEXT_PATHS: [&[&str]; 9] = [
    &["context_length"],
    &["context_window"],
    &["max_context_length"],
    &["context_size"],
    &["max_model_len"],
    &["top_provider", "context_length"],
    &["model_spec", "availableContextTokens"],
    &["capabilities", "limits", "max_context_window_tokens"],
    &["limits", "max_input_tokens"],
];

fn context_tokens(map: &Map<String, Value>) -> Option<u64> {
    CONTEXT_PATHS
        .iter()
        .find_map(|path| lookup(map, path).and_then(positive_count))
}

/// A positive whole number given as a JSON number or a digit string.
fn positive_count(value: &Value) -> Option<u64> {
    let count = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f > 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    (count > 0).then_some(count)
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ParameterCount {
    total_b: f64,
    active_b: Option<f64>,
}

fn parameter_count(map: &Map<String, Value>) -> Option<ParameterCount> {
    [&["details", "parameter_size"][..], &["params_string"]]
        .iter()
        .find_map(|path| lookup(map, path)?.as_str().and_then(parse_parameter_count))
}

/// `14.8B`, `270M`, `1T`, `8x7B`, `26B-A4B` (total, active).
fn parse_parameter_count(text: &str) -> Option<ParameterCount> {
    let (total, active) = match text.trim().split_once('-') {
        Some((total, active)) => (total, Some(active)),
        None => (text.trim(), None),
    };
    let active_b = match active {
        Some(active) => Some(billions(active.strip_prefix(['A', 'a'])?)?),
        None => None,
    };
    Some(ParameterCount {
        total_b: billions(total)?,
        active_b,
    })
}

fn billions(size: &str) -> Option<f64> {
    let size = size.trim();
    let (experts, size) = match size.split_once(['x', 'X']) {
        Some((experts, size)) => (experts.trim().parse::<u16>().ok()?, size.trim()),
        None => (1, size),
    };
    let unit = size.chars().last()?;
    let number: f64 = size.strip_suffix(unit)?.trim().parse().ok()?;
    let billions = match unit.to_ascii_uppercase() {
        'T' => number * 1e3,
        'B' => number,
        'M' => number / 1e3,
        'K' => number / 1e6,
        _ => return None,
    } * f64::from(experts);
    (billions.is_finite() && billions > 0.0).then(|| round_to_nano(billions))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

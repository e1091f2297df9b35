//! What one entry of a models list says about its model beyond the id: prices (every
//! provider's price fields, converted to USD per 1M tokens) and kind (output modalities, type
//! words, endpoints, capabilities, families). The rules are listed in `parse`'s module doc.

use serde_json::{Map, Value};

pub(super) fn lookup<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(map.get(*first)?, |value, key| value.get(*key))
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Prices {
    pub(super) input: Option<f64>,
    pub(super) output: Option<f64>,
    pub(super) cached_input: Option<f64>,
    pub(super) cache_write: Option<f64>,
}

/// How a provider writes a price; the value is the power of ten that turns it into USD per 1M.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PriceUnit {
    UsdPerToken = 6,
    UsdPerMillion = 0,
    TenThousandthUsdPerMillion = -4,
}

pub(super) fn prices(map: &Map<String, Value>) -> Prices {
    pricing_object_prices(map)
        .or_else(|| novita_prices(map))
        .or_else(|| requesty_prices(map))
        .or_else(|| chutes_prices(map))
        .or_else(|| venice_prices(map))
        .unwrap_or_default()
}

/// OpenRouter / SambaNova (`prompt`, `completion`), Vercel and Together (`input`, `output`).
pub(super) fn pricing_object_prices(map: &Map<String, Value>) -> Option<Prices> {
    let pricing = map.get("pricing")?.as_object()?;
    let price = |key: &str, unit| pricing.get(key).and_then(|v| price_per_1m(v, unit));
    if pricing.contains_key("prompt") || pricing.contains_key("completion") {
        let unit = PriceUnit::UsdPerToken;
        return Some(Prices {
            input: price("prompt", unit),
            output: price("completion", unit),
            cached_input: price("input_cache_read", unit),
            cache_write: price("input_cache_write", unit),
        });
    }
    let together = ["hourly", "base", "finetune"]
        .iter()
        .any(|key| pricing.contains_key(*key));
    let unit = if together {
        PriceUnit::UsdPerMillion
    } else {
        PriceUnit::UsdPerToken
    };
    Some(Prices {
        input: price("input", unit),
        output: price("output", unit),
        cached_input: price("input_cache_read", unit),
        cache_write: price("input_cache_write", unit),
    })
}

pub(super) fn novita_prices(map: &Map<String, Value>) -> Option<Prices> {
    let unit = PriceUnit::TenThousandthUsdPerMillion;
    let input = map.get("input_token_price_per_m")?;
    Some(Prices {
        input: price_per_1m(input, unit),
        output: map
            .get("output_token_price_per_m")
            .and_then(|v| price_per_1m(v, unit)),
        cached_input: None,
        cache_write: None,
    })
}

pub(super) fn requesty_prices(map: &Map<String, Value>) -> Option<Prices> {
    let unit = PriceUnit::UsdPerToken;
    let input = map.get("input_price")?;
    Some(Prices {
        input: price_per_1m(input, unit),
        output: map.get("output_price").and_then(|v| price_per_1m(v, unit)),
        cached_input: map.get("cached_price").and_then(|v| price_per_1m(v, unit)),
        cache_write: None,
    })
}

pub(super) fn chutes_prices(map: &Map<String, Value>) -> Option<Prices> {
    let usd = price_per_1m(map.get("price")?.get("usd")?, PriceUnit::UsdPerMillion);
    Some(Prices {
        input: usd,
        output: usd,
        cached_input: None,
        cache_write: None,
    })
}

pub(super) fn venice_prices(map: &Map<String, Value>) -> Option<Prices> {
    let pricing = lookup(map, &["model_spec", "pricing"])?;
    let usd = |key: &str| {
        let value = pricing.get(key)?.get("usd")?;
        price_per_1m(value, PriceUnit::UsdPerMillion)
    };
    Some(Prices {
        input: usd("input"),
        output: usd("output"),
        cached_input: None,
        cache_write: None,
    })
}

/// A price (decimal string or JSON number) in USD per 1M; negative or malformed = unknown.
pub(super) fn price_per_1m(value: &Value, unit: PriceUnit) -> Option<f64> {
    match value {
        Value::String(text) => shift_decimal(text.trim(), unit as i32),
        Value::Number(number) => shift_decimal(&number.to_string(), unit as i32),
        _ => None,
    }
}

/// Parses a non-negative decimal after multiplying it by 10^`shift` in the text, so
/// `"0.00000045"` per token is exactly the f64 nearest 0.45 per 1M.
pub(super) fn shift_decimal(text: &str, shift: i32) -> Option<f64> {
    let plain = text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plain || text.starts_with('-') {
        return None;
    }
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let value: f64 = format!("{mantissa}e{}", exponent.checked_add(shift)?)
        .parse()
        .ok()?;
    (value.is_finite() && value >= 0.0).then(|| round_to_nano(value))
}

/// Rounds to 1e-9 (removes noise such as Together's `0.18000000000000002`).
pub(super) fn round_to_nano(value: f64) -> f64 {
    if value.abs() < 9.0e6 {
        (value * 1e9).round() / 1e9
    } else {
        value
    }
}

pub(super) fn kind_hint(map: &Map<String, Value>) -> Option<&'static str> {
    output_modalities_kind(map)
        .or_else(|| type_word_kind(map))
        .or_else(|| cohere_endpoints_kind(map))
        .or_else(|| mistral_capabilities_kind(map))
        .or_else(|| ollama_family_kind(map))
}

pub(super) fn output_modalities_kind(map: &Map<String, Value>) -> Option<&'static str> {
    let listed = lookup(map, &["architecture", "output_modalities"])
        .or_else(|| map.get("supported_output_modalities"))
        .and_then(Value::as_array);
    if let Some(listed) = listed {
        return kind_from_outputs(listed.iter().filter_map(Value::as_str));
    }
    let modality = lookup(map, &["architecture", "modality"])?.as_str()?;
    let (_, outputs) = modality.split_once("->")?;
    kind_from_outputs(outputs.split('+'))
}

pub(super) fn kind_from_outputs<'a>(
    outputs: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'static str> {
    if outputs
        .clone()
        .any(|o| o.trim().eq_ignore_ascii_case("text"))
    {
        return Some("chat");
    }
    outputs.filter_map(|o| kind_from_word(o.trim())).next()
}

pub(super) fn type_word_kind(map: &Map<String, Value>) -> Option<&'static str> {
    [&["type"][..], &["model_type"], &["capabilities", "type"]]
        .iter()
        .find_map(|path| lookup(map, path)?.as_str().and_then(kind_from_word))
}

pub(super) const KIND_WORDS: [(&str, &str); 25] = [
    ("chat", "chat"),
    ("llm", "chat"),
    ("vlm", "chat"),
    ("text", "chat"),
    ("language", "chat"),
    ("code", "chat"),
    ("embedding", "embedding"),
    ("embeddings", "embedding"),
    ("embed", "embedding"),
    ("rerank", "rerank"),
    ("reranker", "rerank"),
    ("image", "image"),
    ("video", "image"),
    ("upscale", "image"),
    ("inpaint", "image"),
    ("audio", "audio"),
    ("speech", "audio"),
    ("tts", "audio"),
    ("stt", "audio"),
    ("asr", "audio"),
    ("transcribe", "audio"),
    ("transcription", "audio"),
    ("moderation", "moderation"),
    ("guard", "moderation"),
    ("classifier", "moderation"),
];

pub(super) fn kind_from_word(word: &str) -> Option<&'static str> {
    KIND_WORDS
        .iter()
        .find(|(known, _)| word.eq_ignore_ascii_case(known))
        .map(|(_, kind)| *kind)
}

pub(super) fn cohere_endpoints_kind(map: &Map<String, Value>) -> Option<&'static str> {
    let endpoints = map.get("endpoints")?.as_array()?;
    let has = |wanted: fn(&str) -> bool| endpoints.iter().filter_map(Value::as_str).any(wanted);
    if has(|e| e == "chat" || e == "generate") {
        Some("chat")
    } else if has(|e| e.starts_with("embed")) {
        Some("embedding")
    } else if has(|e| e == "rerank") {
        Some("rerank")
    } else {
        None
    }
}

pub(super) fn mistral_capabilities_kind(map: &Map<String, Value>) -> Option<&'static str> {
    let chat = lookup(map, &["capabilities", "completion_chat"])?.as_bool()?;
    chat.then_some("chat")
}

pub(super) fn ollama_family_kind(map: &Map<String, Value>) -> Option<&'static str> {
    let details = map.get("details")?;
    let family = details.get("family").and_then(Value::as_str);
    let families = details
        .get("families")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let is_bert = family
        .into_iter()
        .chain(families)
        .any(|f| f.to_ascii_lowercase().contains("bert"));
    is_bert.then_some("embedding")
}

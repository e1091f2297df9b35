//! What a call cost: tokens × per-1M prices (docs/config.md, docs/usage-records.md).
//!
//! Rules decided here:
//! - Input tokens are three parts: cache reads (`cached_tokens`), cache writes
//!   (`cache_write_tokens`) and the rest (uncached). Cost = uncached × `input` + writes ×
//!   `cache_write` + reads × `cached_input` + output × `output`. Reads are capped at the input
//!   count, writes at what the reads leave.
//! - A cache price that no source knows (config, discovery, knowledge base: the catalog already
//!   took the first that has one) is charged at the input price, and the cost says so
//!   (`cache_price_unknown`), so a record never passes an estimate off as the exact figure.
//!   Only tokens that were actually read or written raise the flag: an OpenAI model without a
//!   published cache-write price never writes (OpenAI does not report cache writes).
//! - Audio tokens are a part of input and output and are charged at those prices.
//! - Billable output is the larger of `completion_tokens` and `total - prompt`: providers that
//!   report reasoning only in the total (xAI: prompt 12, completion 1, total 303) are charged
//!   for it, while OpenAI's totals (reasoning inside completion) are unchanged.
//! - An unknown price gives `cost_known: false` and 0.0 amounts: a record never claims a call
//!   was free when the price was simply not known. A call that used no tokens (every attempt
//!   failed, or nothing could be tried) costs a known 0.0 whatever the price.

use bytes::Bytes;

use super::tap::Usage;
use crate::catalog::ModelPrice;

/// The money side of a usage record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub input_cost: f64,
    pub output_cost: f64,
    pub total_cost: f64,
    pub known: bool,
    /// Cache reads or writes were charged at the input price because their own price is
    /// unknown.
    pub cache_price_unknown: bool,
}

/// Output tokens to bill: see the module doc.
pub fn billable_output(usage: &Usage) -> u64 {
    usage
        .output_tokens
        .max(usage.total_tokens.saturating_sub(usage.input_tokens))
}

/// The cost of `usage` at `price` (per 1M tokens).
pub fn cost_of(usage: &Usage, price: Option<&ModelPrice>) -> Cost {
    let Some(price) = price else {
        let nothing_used = usage.input_tokens == 0 && billable_output(usage) == 0;
        return Cost {
            input_cost: 0.0,
            output_cost: 0.0,
            total_cost: 0.0,
            known: nothing_used,
            cache_price_unknown: false,
        };
    };
    let reads = usage.cached_tokens.min(usage.input_tokens);
    let writes = usage.cache_write_tokens.min(usage.input_tokens - reads);
    let uncached = usage.input_tokens - reads - writes;
    let read_price = price.cached_input.unwrap_or(price.input);
    let write_price = price.cache_write.unwrap_or(price.input);
    let cache_price_unknown =
        (reads > 0 && price.cached_input.is_none()) || (writes > 0 && price.cache_write.is_none());
    let input_cost =
        (uncached as f64 * price.input + writes as f64 * write_price + reads as f64 * read_price)
            / 1e6;
    let output_cost = billable_output(usage) as f64 * price.output / 1e6;
    Cost {
        input_cost,
        output_cost,
        total_cost: input_cost + output_cost,
        known: true,
        cache_price_unknown,
    }
}

// ---------------------------------------------------------------------------------------------
// The cost told to the client (`x-router-cost`, `usage.cost`).

/// A cost as a plain decimal string, at most 9 places, no trailing zeros (`0.000012`).
pub fn decimal(cost: f64) -> String {
    let mut text = String::with_capacity(24);
    push_fixed(&mut text, cost, 9);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Append `value` with `decimals` digits after the point, exactly as `{:.N}` writes it. Every
/// served call writes a cost and a score, and the history writer a few dozen scores per row;
/// `{:.N}` computes an exact decimal expansion each time (measured: 1.5% of the gateway's
/// samples at 64 connections). Here an integer does, unless the value lies so close to a
/// rounding tie that the product's own rounding could decide it (or out of range, or more
/// than 9 places), where `{:.N}` decides.
pub fn push_fixed(out: &mut String, value: f64, decimals: u32) {
    use std::fmt::Write;
    let unit = 10u64.pow(decimals.min(9));
    let scaled = value.abs() * unit as f64;
    let fraction = scaled - scaled.floor();
    // The product is within half an ulp of the exact one: past that from .5, both round alike.
    let doubt = scaled * 4.0 * f64::EPSILON + 1e-9;
    if decimals > 9 || !scaled.is_finite() || scaled >= 1e15 || (fraction - 0.5).abs() <= doubt {
        let _ = write!(out, "{value:.prec$}", prec = decimals as usize);
        return;
    }
    let rounded = scaled.round() as u64;
    if value.is_sign_negative() {
        out.push('-');
    }
    if decimals == 0 {
        let _ = write!(out, "{rounded}");
    } else {
        let (whole, part) = (rounded / unit, rounded % unit);
        let _ = write!(out, "{whole}.{part:0width$}", width = decimals as usize);
    }
}

/// The answer with `"cost": X` added to its top-level `usage` object (OpenRouter's convention),
/// spliced into the bytes; unchanged when the cost is unknown or no `usage` object is found.
/// The last `"usage"` key that is not inside a string is the answer's own (it follows
/// `choices`).
pub fn with_usage_cost(body: Bytes, cost: f64, known: bool) -> Bytes {
    if !known {
        return body;
    }
    let finder = memchr::memmem::Finder::new(b"\"usage\"");
    let Some(open) = finder
        .find_iter(&body)
        .filter(|&at| at == 0 || body[at - 1] != b'\\')
        .filter_map(|at| object_after_key(&body, at + 7))
        .last()
    else {
        return body;
    };
    let empty = body[open + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    let insert = format!("\"cost\":{}{}", decimal(cost), if empty { "" } else { "," });
    let mut out = Vec::with_capacity(body.len() + insert.len());
    out.extend_from_slice(&body[..=open]);
    out.extend_from_slice(insert.as_bytes());
    out.extend_from_slice(&body[open + 1..]);
    Bytes::from(out)
}

/// The index of the `{` that opens the value of a key ending at `after_key`, if it is an object.
fn object_after_key(body: &[u8], after_key: usize) -> Option<usize> {
    let skip = |mut at: usize| {
        while body.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    let colon = skip(after_key);
    (body.get(colon) == Some(&b':')).then_some(())?;
    let open = skip(colon + 1);
    (body.get(open) == Some(&b'{')).then_some(open)
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;

#[cfg(test)]
mod splice_tests {
    use super::*;

    fn spliced(body: &str, cost: f64) -> String {
        let out = with_usage_cost(Bytes::from(body.to_string()), cost, true);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn the_cost_joins_the_answers_own_usage_object() {
        assert_eq!(
            spliced(r#"{"choices":[],"usage": {"prompt_tokens":1}}"#, 0.000012),
            r#"{"choices":[],"usage": {"cost":0.000012,"prompt_tokens":1}}"#
        );
        // A quoted "usage" inside the text is not the answer's usage; the last real one is.
        assert_eq!(
            spliced(r#"{"c":"say \"usage\": {x}","usage":{}}"#, 1.5),
            r#"{"c":"say \"usage\": {x}","usage":{"cost":1.5}}"#
        );
        assert_eq!(spliced(r#"{"usage":null}"#, 1.0), r#"{"usage":null}"#);
        assert_eq!(decimal(0.0), "0");
        assert_eq!(decimal(2.0), "2");
        assert_eq!(decimal(1.2e-5), "0.000012");
    }
}

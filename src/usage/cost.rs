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

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;

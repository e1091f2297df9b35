//! What a call cost: tokens × per-1M prices (SPEC §3, §9).
//!
//! Rules decided here:
//! - Cached input tokens are a part of input tokens; they are charged at `cached_input` when the
//!   price has one, else at the input price.
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
        };
    };
    let cached = usage.cached_tokens.min(usage.input_tokens);
    let uncached = usage.input_tokens - cached;
    let cached_price = price.cached_input.unwrap_or(price.input);
    let input_cost = (uncached as f64 * price.input + cached as f64 * cached_price) / 1e6;
    let output_cost = billable_output(usage) as f64 * price.output / 1e6;
    Cost {
        input_cost,
        output_cost,
        total_cost: input_cost + output_cost,
        known: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, total: u64, cached: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: total,
            cached_tokens: cached,
            reasoning_tokens: 0,
        }
    }

    const MINI: ModelPrice = ModelPrice {
        input: 0.15,
        output: 0.60,
        cached_input: Some(0.075),
    };

    #[test]
    fn input_output_and_cached_prices() {
        let cost = cost_of(&usage(1000, 500, 1500, 400), Some(&MINI));
        // 600 × 0.15 + 400 × 0.075 = 120 per 1M; 500 × 0.60 = 300 per 1M.
        assert!((cost.input_cost - 0.000_12).abs() < 1e-15);
        assert!((cost.output_cost - 0.000_3).abs() < 1e-15);
        assert!((cost.total_cost - 0.000_42).abs() < 1e-15);
        assert!(cost.known);
    }

    #[test]
    fn cached_at_input_price_when_no_cached_price() {
        let price = ModelPrice {
            input: 1.0,
            output: 2.0,
            cached_input: None,
        };
        let cost = cost_of(&usage(1_000_000, 0, 1_000_000, 500_000), Some(&price));
        assert_eq!(cost.input_cost, 1.0);
    }

    #[test]
    fn reasoning_only_in_the_total_is_billed() {
        let xai = usage(12, 1, 303, 11);
        assert_eq!(billable_output(&xai), 291);
        let openai = usage(16, 300, 316, 0);
        assert_eq!(billable_output(&openai), 300);
    }

    #[test]
    fn unknown_price_is_not_free() {
        let cost = cost_of(&usage(10, 10, 20, 0), None);
        assert!(!cost.known);
        assert_eq!(cost.total_cost, 0.0);
    }

    #[test]
    fn no_tokens_cost_a_known_nothing_without_a_price() {
        let cost = cost_of(&Usage::default(), None);
        assert!(cost.known);
        assert_eq!(cost.total_cost, 0.0);
        assert!(!cost_of(&usage(0, 0, 7, 0), None).known);
    }
}

//! Exact-value cost tests: cache reads, cache writes, their fallbacks, output rules.

use super::*;

fn usage(input: u64, output: u64, total: u64, cached: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: total,
        cached_tokens: cached,
        ..Usage::default()
    }
}

fn price(input: f64, output: f64, read: Option<f64>, write: Option<f64>) -> ModelPrice {
    ModelPrice {
        input,
        output,
        cached_input: read,
        cache_write: write,
    }
}

const MINI: ModelPrice = ModelPrice {
    input: 0.15,
    output: 0.60,
    cached_input: Some(0.075),
    cache_write: None,
};

/// Claude Sonnet class: input $3, output $15, cache write $3.75, cache read $0.30 per 1M.
const SONNET: ModelPrice = ModelPrice {
    input: 3.0,
    output: 15.0,
    cached_input: Some(0.30),
    cache_write: Some(3.75),
};

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

#[test]
fn input_output_and_cached_prices() {
    let cost = cost_of(&usage(1000, 500, 1500, 400), Some(&MINI));
    // 600 × 0.15 + 400 × 0.075 = 120 per 1M; 500 × 0.60 = 300 per 1M.
    close(cost.input_cost, 0.000_12);
    close(cost.output_cost, 0.000_3);
    close(cost.total_cost, 0.000_42);
    assert!(cost.known);
    assert!(!cost.cache_price_unknown);
}

#[test]
fn anthropic_cache_writes_and_reads_at_their_own_prices() {
    // Anthropic reported input_tokens 12, cache_creation 3337, cache_read 6289, output 198;
    // the tap folds the cache parts into input (9638).
    let reported = Usage {
        input_tokens: 12 + 3337 + 6289,
        output_tokens: 198,
        total_tokens: 12 + 3337 + 6289 + 198,
        cached_tokens: 6289,
        cache_write_tokens: 3337,
        ..Usage::default()
    };
    let cost = cost_of(&reported, Some(&SONNET));
    // 12 × 3 + 3337 × 3.75 + 6289 × 0.30 = 36 + 12513.75 + 1886.7 = 14436.45 per 1M.
    close(cost.input_cost, 0.014_436_45);
    // 198 × 15 = 2970 per 1M.
    close(cost.output_cost, 0.002_97);
    close(cost.total_cost, 0.017_406_45);
    assert!(!cost.cache_price_unknown);
}

#[test]
fn one_million_of_each_part_costs_the_list_prices() {
    let million = Usage {
        input_tokens: 3_000_000,
        output_tokens: 1_000_000,
        total_tokens: 4_000_000,
        cached_tokens: 1_000_000,
        cache_write_tokens: 1_000_000,
        ..Usage::default()
    };
    let cost = cost_of(&million, Some(&SONNET));
    close(cost.input_cost, 3.0 + 3.75 + 0.30);
    close(cost.output_cost, 15.0);
}

#[test]
fn an_unknown_cache_read_price_is_charged_at_input_and_flagged() {
    let cost = cost_of(
        &usage(1_000_000, 0, 1_000_000, 500_000),
        Some(&price(1.0, 2.0, None, None)),
    );
    close(cost.input_cost, 1.0);
    assert!(cost.known);
    assert!(cost.cache_price_unknown);
}

#[test]
fn an_unknown_cache_write_price_is_charged_at_input_and_flagged() {
    let writes = Usage {
        input_tokens: 1_000_000,
        total_tokens: 1_000_000,
        cache_write_tokens: 400_000,
        ..Usage::default()
    };
    let cost = cost_of(&writes, Some(&price(3.0, 15.0, Some(0.3), None)));
    close(cost.input_cost, 3.0);
    assert!(cost.cache_price_unknown);
}

#[test]
fn a_missing_cache_price_for_tokens_never_used_raises_no_flag() {
    // gpt-4o publishes no cache-write price; OpenAI never reports writes.
    let cost = cost_of(
        &usage(1000, 10, 1010, 200),
        Some(&price(2.5, 10.0, Some(1.25), None)),
    );
    // 800 × 2.5 + 200 × 1.25 = 2250 per 1M.
    close(cost.input_cost, 0.002_25);
    assert!(!cost.cache_price_unknown);
    let plain = cost_of(
        &usage(1000, 10, 1010, 0),
        Some(&price(1.0, 1.0, None, None)),
    );
    assert!(!plain.cache_price_unknown);
}

#[test]
fn cache_parts_never_exceed_the_input() {
    let odd = Usage {
        input_tokens: 100,
        total_tokens: 100,
        cached_tokens: 80,
        cache_write_tokens: 50,
        ..Usage::default()
    };
    let cost = cost_of(&odd, Some(&SONNET));
    // 80 reads × 0.30 + 20 writes × 3.75 + 0 uncached = 99 per 1M.
    close(cost.input_cost, 0.000_099);
}

#[test]
fn audio_tokens_are_charged_within_input_and_output() {
    let audio = Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        total_tokens: 2_000_000,
        audio_input_tokens: 600_000,
        audio_output_tokens: 900_000,
        ..Usage::default()
    };
    let cost = cost_of(&audio, Some(&price(2.5, 10.0, None, None)));
    close(cost.total_cost, 12.5);
    assert!(!cost.cache_price_unknown);
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

#[test]
fn fixed_point_numbers_read_exactly_as_the_standard_formatting() {
    let mut values = vec![
        0.0,
        -0.0,
        1.0,
        0.5,
        0.125,
        0.995,
        0.994999,
        0.005,
        0.015,
        0.333333,
        2.0 / 3.0,
        -0.25,
        -1.23456,
        12.3456789,
        1e-9,
        -1e-9,
        99.99999,
        1e16,
        f64::NAN,
        f64::INFINITY,
    ];
    values.extend((0..2000).map(|n| f64::from(n) / 1999.0));
    // Costs: prices per million tokens times token counts, and large ones.
    values.extend((1..2000).map(|n| f64::from(n) * 0.15 / 1e6 * 37.0));
    values.extend((1..200).map(|n| f64::from(n) * 1_234.567_891_234_5));
    values.extend([
        0.000_000_000_5,
        0.000_000_001_5,
        1.000_000_000_5,
        2.5e-10,
        123_456.789_012_345_6,
    ]);
    for value in values {
        for decimals in [0, 2, 4, 9] {
            let mut fast = String::new();
            push_fixed(&mut fast, value, decimals);
            let standard = format!("{value:.prec$}", prec = decimals as usize);
            assert_eq!(fast, standard, "{value} to {decimals} places");
        }
    }
}

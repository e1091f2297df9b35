//! Sizes in a model id: parameter counts (`7b`, `1.5b`, `270m`, `8x7b`, `30b-a3b`) and
//! context lengths (`128k`, `32ki`, `1m`), with the bounds that keep version numbers out.

use super::*;

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

pub(super) fn scale_context(number: &str, binary: u64, decimal: u64) -> Option<u64> {
    if is_all_digits(number) {
        let n: u64 = number.parse().ok()?;
        let unit = if n.is_power_of_two() { binary } else { decimal };
        return n.checked_mul(unit);
    }
    let value = parse_decimal(number)? * decimal as f64;
    (value.is_finite() && value <= u64::MAX as f64).then(|| value.round() as u64)
}

/// `digits` or `digits.digits`, as f64.
pub(super) fn parse_decimal(s: &str) -> Option<f64> {
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
pub(super) fn split_unit(s: &str) -> Option<(&str, u8)> {
    let unit = s.bytes().last()?.to_ascii_lowercase();
    unit.is_ascii_alphabetic()
        .then(|| (&s[..s.len() - 1], unit))
}

pub(super) const MIN_PARAMS_B: f64 = 0.01;
pub(super) const MAX_PARAMS_B: f64 = 3000.0;
pub(super) const MIN_CONTEXT: u64 = 512;
pub(super) const MAX_CONTEXT: u64 = 20_000_000;

#[derive(Debug, Default)]
pub(super) struct NameSizes {
    pub(super) total: Option<f64>,
    pub(super) active: Option<f64>,
    pub(super) context: Option<u64>,
}

/// What one name piece says about size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum SizePiece {
    Total(f64),
    Active(f64),
    /// `16e`: an expert count; the size before it is the active count.
    Experts,
    Context(u64),
    Nothing,
}

impl NameSizes {
    /// Read sizes from the model part of a lower-cased id (after the last `/`).
    pub(super) fn read(model: &str) -> NameSizes {
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

pub(super) fn size_piece(piece: &str) -> SizePiece {
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

pub(super) fn params(billions: Option<f64>) -> Option<f64> {
    billions.filter(|b| (MIN_PARAMS_B..=MAX_PARAMS_B).contains(b))
}

pub(super) fn context(tokens: Option<u64>) -> SizePiece {
    match tokens {
        Some(t) if (MIN_CONTEXT..=MAX_CONTEXT).contains(&t) => SizePiece::Context(t),
        _ => SizePiece::Nothing,
    }
}

/// Fireworks writes the decimal point as `p`: `qwen3-1p7b` (the `b` already removed).
pub(super) fn fireworks_size(number: &str) -> Option<f64> {
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
pub(super) fn plain_context(last: &str) -> Option<u64> {
    if !is_all_digits(last) || last.len() > 7 {
        return None;
    }
    let n: u64 = last.parse().ok()?;
    (n.is_power_of_two() && (2048..=1 << 20).contains(&n)).then_some(n)
}

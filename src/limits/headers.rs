//! The upstream's own rate-limit headers, as OpenAI, Groq and OpenRouter send them:
//! `x-ratelimit-remaining-requests` / `-tokens` with `x-ratelimit-reset-requests` /
//! `-tokens` (OpenAI and Groq: a duration such as `1s`, `6m0s`, `2m59.56s`, `20ms`), and
//! OpenRouter's `x-ratelimit-remaining` with `x-ratelimit-reset` (epoch milliseconds).
//!
//! Pure: a header map and `now` in, the end of the exhaustion (epoch ms) out.

use reqwest::header::HeaderMap;

/// When the upstream says nothing remains, the epoch millisecond its window resets.
pub fn exhausted_until(headers: &HeaderMap, now_ms: u64) -> Option<u64> {
    let pairs = [
        (
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ),
        ("x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ];
    pairs
        .iter()
        .filter(|(remaining, _)| number(headers, remaining) == Some(0.0))
        .map(|(_, reset)| {
            let text = headers.get(*reset).and_then(|v| v.to_str().ok());
            // Without a reset, wait a second rather than collect a 429.
            text.and_then(|t| reset_at(t.trim(), now_ms))
                .unwrap_or(now_ms + 1000)
        })
        .max()
}

fn number(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// A reset value: epoch ms or s (a large number), seconds (a small one) or a duration.
pub fn reset_at(text: &str, now_ms: u64) -> Option<u64> {
    if let Ok(n) = text.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        return Some(if n > 1e12 {
            n as u64
        } else if n > 1e9 {
            (n * 1000.0) as u64
        } else {
            now_ms + (n * 1000.0) as u64
        });
    }
    duration_ms(text).map(|ms| now_ms + ms)
}

/// `1h2m3.5s`, `6m0s`, `20ms` into milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let mut total = 0.0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit..];
    }
    Some(total.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("header value"));
        }
        headers
    }

    #[test]
    fn reset_values_in_every_shape_providers_send() {
        let now = 1_000_000;
        for (text, expected) in [
            ("1s", Some(now + 1000)),
            ("6m0s", Some(now + 360_000)),
            ("2m59.56s", Some(now + 179_560)),
            ("20ms", Some(now + 20)),
            ("1h2m", Some(now + 3_720_000)),
            ("7.66s", Some(now + 7660)),
            ("30", Some(now + 30_000)),
            ("1767225600000", Some(1_767_225_600_000)),
            ("1767225600", Some(1_767_225_600_000)),
            ("soon", None),
            ("", None),
            ("5x", None),
        ] {
            assert_eq!(reset_at(text, now), expected, "{text}");
        }
    }

    #[test]
    fn only_zero_remaining_exhausts_and_the_latest_reset_wins() {
        let now = 5_000;
        let openai = map(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "7.5s"),
        ]);
        assert_eq!(exhausted_until(&openai, now), Some(now + 7500));
        let groq_some_left = map(&[
            ("x-ratelimit-remaining-requests", "14"),
            ("x-ratelimit-reset-requests", "2s"),
        ]);
        assert_eq!(exhausted_until(&groq_some_left, now), None);
        let openrouter = map(&[
            ("x-ratelimit-limit", "20"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1767225600000"),
        ]);
        assert_eq!(exhausted_until(&openrouter, now), Some(1_767_225_600_000));
        let no_reset = map(&[("x-ratelimit-remaining-requests", "0")]);
        assert_eq!(exhausted_until(&no_reset, now), Some(now + 1000));
        assert_eq!(exhausted_until(&HeaderMap::new(), now), None);
    }
}

//! Redaction: the one place that decides what of a message, an error body or a URL is a
//! secret. Used for every message that leaves the upstream edge (attempt failures, discovery
//! errors, alerts, the 502 text, relayed error bodies).
//!
//! Rules of [`redact_secrets`]: (1) the value after `Bearer`, and after a key word (`api_key`,
//! `api-key`, `apikey`, `x-api-key`, `key`, `token`, `access_token`, `auth_token`, `secret`,
//! `password`, `authorization`; any ASCII case) followed by `:` or `=` (quotes allowed, as in
//! JSON) becomes `[REDACTED]`; (2) any run of `[A-Za-z0-9_-]` that starts with a known key
//! prefix (`sk-`, `sk_`, `sar-`, `gsk_`, `xai-`, `pplx-`, `nvapi-`, `ghp_`, `github_pat_`,
//! `hf_`, `r8_`, `AIza`) and is at least 12 long, or that is at least 24 long, has a letter and
//! a digit and a piece (between `-`/`_`) of 16 or more characters with a digit, becomes
//! `[REDACTED]`. Model ids (short pieces) survive; UUIDs survive. [`redact`] also replaces
//! the channel's own key with `***`, whatever its shape.

use std::borrow::Cow;
use std::sync::LazyLock;

use bytes::Bytes;
use regex::Regex;

use crate::config::Channel;

/// Replace the channel's key, the credentials of its base URL, and anything key-shaped in
/// `message`.
pub fn redact(message: &str, channel: &Channel) -> String {
    let mut text = message.to_string();
    if let Some(key) = channel_key(channel) {
        text = text.replace(key, "***");
    }
    let shown = crate::config::url_without_credentials(&channel.base_url);
    if shown != channel.base_url {
        text = text.replace(&channel.base_url, &shown);
    }
    redact_secrets(&text).into_owned()
}

/// `body` without the channel's key (a relayed upstream error that echoes it back); the
/// bytes are not copied when the key is absent.
pub fn redact_body(body: Bytes, channel: &Channel) -> Bytes {
    match channel_key(channel) {
        Some(key) if memchr::memmem::find(&body, key.as_bytes()).is_some() => {
            Bytes::from(String::from_utf8_lossy(&body).replace(key, "***"))
        }
        _ => body,
    }
}

fn channel_key(channel: &Channel) -> Option<&str> {
    channel
        .api_key
        .as_ref()
        .map(|k| k.expose())
        .filter(|k| k.len() >= 4)
}

#[expect(
    clippy::expect_used,
    reason = "a literal pattern, compiled by the tests: it cannot fail at run time"
)]
static KEYWORD_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    // Key words match in any ASCII case (not Unicode case: a Kelvin sign is not a `k`), so
    // that [`may_hold_keyword_value`] finds every text this pattern can match.
    let pattern = r#"(\b(?i-u:bearer)\s+|\b(?i-u:x-api-key|api[_-]?key|access[_-]?token|auth[_-]?token|token|key|secret|password|authorization)["']?\s*[:=]\s*["']?(?:(?i-u:bearer|basic)\s+)?)[^\s"'&,;]+"#;
    Regex::new(pattern).expect("the keyword pattern is a valid regex")
});

const KEY_PREFIXES: [&str; 12] = [
    "sk-",
    "sk_",
    "sar-",
    "gsk_",
    "xai-",
    "pplx-",
    "nvapi-",
    "ghp_",
    "github_pat_",
    "hf_",
    "r8_",
    "AIza",
];
const REDACTED: &str = "[REDACTED]";

/// `text` with anything that looks like a credential replaced by `[REDACTED]` (rules in the
/// module doc). Borrows when nothing was replaced.
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let pass_one = if may_hold_keyword_value(text) {
        KEYWORD_VALUE.replace_all(text, |caps: &regex::Captures<'_>| {
            format!("{}{REDACTED}", caps.get(1).map_or("", |m| m.as_str()))
        })
    } else {
        Cow::Borrowed(text)
    };
    let pass_two = redact_token_runs(&pass_one);
    match (pass_two, pass_one) {
        (Some(replaced), _) | (None, Cow::Owned(replaced)) => Cow::Owned(replaced),
        (None, Cow::Borrowed(_)) => Cow::Borrowed(text),
    }
}

/// Rule (2): each run of `[A-Za-z0-9_-]` at least 12 long that [`looks_like_secret`] becomes
/// [`REDACTED`]; `None` when none does. A byte scan: the request history passes every body
/// through here, and a regex that found the runs (most of them JSON keys and ids, kept) cost
/// a tenth of the history writer's time.
///
/// It reads one byte in twelve where it can: a run of 12 or more that starts in `at..at + 12`
/// holds the byte at `at + 11`, so when that byte is not a token byte no such run starts
/// there, and the scan jumps past it. Text and JSON rarely go 12 bytes without a space, a
/// quote or a dot.
fn redact_token_runs(text: &str) -> Option<String> {
    let is_token = |b: u8| TOKEN_BYTE[usize::from(b)];
    let bytes = text.as_bytes();
    let mut redacted: Option<String> = None;
    let mut copied = 0;
    // No run of 12 or more starts before `at` that is not handled; `at` is 0 or follows a
    // byte that is not a token byte.
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let probe = at + 11;
        if !is_token(bytes[probe]) {
            at = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > at && is_token(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < bytes.len() && is_token(bytes[end]) {
            end += 1;
        }
        // Both ends sit next to ASCII bytes (or the text's ends), so they are character
        // boundaries.
        let run = &text[start..end];
        if run.len() >= 12 && looks_like_secret(run) {
            let out = redacted.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        at = end;
    }
    redacted.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Whether [`KEYWORD_VALUE`] can match in `text`: `bearer` followed by a space, or a `:` or
/// `=` with a key word before it (after an optional quote and spaces; `key` and `token` also
/// end `api_key`, `access_token` and the like). Bytes past ASCII count as spaces here, as
/// Unicode spaces would there. Two SIMD byte searches; most bodies have no such place, and
/// the regex, which reads every byte, is skipped.
fn may_hold_keyword_value(text: &str) -> bool {
    const ENDINGS: [&[u8]; 5] = [b"key", b"token", b"secret", b"password", b"authorization"];
    let bytes = text.as_bytes();
    let spacing = |b: u8| b.is_ascii_whitespace() || !b.is_ascii();
    let bearer = memchr::memchr2_iter(b'b', b'B', bytes).any(|at| {
        bytes
            .get(at..at + 6)
            .is_some_and(|word| word.eq_ignore_ascii_case(b"bearer"))
            && bytes.get(at + 6).is_some_and(|&b| spacing(b))
    });
    bearer
        || memchr::memchr2_iter(b':', b'=', bytes).any(|at| {
            let mut end = at;
            while end > 0 && spacing(bytes[end - 1]) {
                end -= 1;
            }
            if end > 0 && matches!(bytes[end - 1], b'"' | b'\'') {
                end -= 1;
            }
            let before = &bytes[..end];
            ENDINGS.iter().any(|word| {
                before.len() >= word.len()
                    && before[before.len() - word.len()..].eq_ignore_ascii_case(word)
            })
        })
}

/// The bytes of a token run (rule 2): `[A-Za-z0-9_-]`.
const TOKEN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

fn looks_like_secret(run: &str) -> bool {
    if KEY_PREFIXES.iter().any(|p| run.starts_with(p)) {
        return true;
    }
    let has_letter = run.bytes().any(|b| b.is_ascii_alphabetic());
    let has_digit = run.bytes().any(|b| b.is_ascii_digit());
    let long_piece = run
        .split(['-', '_'])
        .any(|piece| piece.len() >= 16 && piece.bytes().any(|b| b.is_ascii_digit()));
    run.len() >= 24 && has_letter && has_digit && long_piece
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_word_scan_finds_every_text_the_pattern_matches() {
        // Texts built from pieces that come close to rule (1) in every way: any case, quotes,
        // Unicode spaces, words that only start like a key word.
        let pieces: Vec<&str> = "key|KEY|Api_Key|x-api-key|token|ToKeN|tokens|secret|PASSWORD|\
            authorization|bearer|Bearer|keyword|\"|'|:|=| |\u{a0}|\u{2003}|\t|\n|abc123|sk-x|é|量|,|Basic "
            .split('|')
            .collect();
        let mut matched = 0;
        for text in generated_texts(&pieces, 6, 0x9e37_79b9_7f4a_7c15) {
            if KEYWORD_VALUE.is_match(&text) {
                matched += 1;
                assert!(may_hold_keyword_value(&text), "{text:?}");
            }
        }
        // The texts reach the pattern often enough for the check to mean something.
        assert!(matched > 1_000, "{matched}");
        for text in [
            "Bearer\u{a0}abc",
            "\"api_key\" \u{2003}: \"v\"",
            "TOKEN=x",
            "password\t=\tx",
        ] {
            assert!(KEYWORD_VALUE.is_match(text), "{text:?}");
            assert!(may_hold_keyword_value(text), "{text:?}");
        }
        for text in [
            r#"{"usage":{"prompt_tokens":9,"total_tokens":21}}"#,
            "a keyword: b",
            "bearer",
        ] {
            assert!(!may_hold_keyword_value(text), "{text:?}");
        }
    }

    /// 20,000 texts of `per_text` pieces each, picked by a fixed-seed linear congruential
    /// generator (the same texts every run).
    fn generated_texts<'a>(
        pieces: &'a [&'a str],
        per_text: usize,
        mut seed: u64,
    ) -> impl Iterator<Item = String> + 'a {
        (0..20_000).map(move |_| {
            let mut text = String::new();
            for _ in 0..per_text {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            text
        })
    }

    /// Rule (2) the plain way: every run, byte by byte.
    fn token_runs_one_byte_at_a_time(text: &str) -> Option<String> {
        let is_token = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        let bytes = text.as_bytes();
        let (mut out, mut copied, mut at, mut any) = (String::new(), 0, 0, false);
        while at < bytes.len() {
            if !is_token(bytes[at]) {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && is_token(bytes[at]) {
                at += 1;
            }
            if at - start >= 12 && looks_like_secret(&text[start..at]) {
                out.push_str(&text[copied..start]);
                out.push_str(REDACTED);
                copied = at;
                any = true;
            }
        }
        any.then(|| out + &text[copied..])
    }

    #[test]
    fn the_skipping_token_scan_finds_what_a_byte_by_byte_scan_finds() {
        let pieces: Vec<&str> =
            "sk-|abcdefgh|1234|ABCDEFGHIJKL|_|-| |\"|:|.|é|量|AIza|x|9f86d081884c7d659a2feaa0|hello|\n"
                .split('|')
                .collect();
        let mut redacted = 0;
        for text in generated_texts(&pieces, 12, 0x2545_f491_4f6c_dd1d) {
            let want = token_runs_one_byte_at_a_time(&text);
            redacted += usize::from(want.is_some());
            assert_eq!(redact_token_runs(&text), want, "{text:?}");
        }
        assert!(redacted > 1_000, "{redacted}");
    }

    #[test]
    fn redaction_rules() {
        let cases = [
            ("Incorrect API key provided: sk-proj-abcdEFGH1234ijklMNOP.", "Incorrect API key provided: [REDACTED]."),
            ("Authorization: Bearer abc123", "Authorization: Bearer [REDACTED]"),
            ("sent bearer xyz", "sent bearer [REDACTED]"),
            (r#"{"api_key": "short1", "model": "gpt-4o"}"#, r#"{"api_key": "[REDACTED]", "model": "gpt-4o"}"#),
            ("GET /v1/models?key=AIzaSyD-abcdefghijklmnopqrstuvwx123&alt=json", "GET /v1/models?key=[REDACTED]&alt=json"),
            ("x-api-key: sar-ABCDEFGH", "x-api-key: [REDACTED]"),
            ("password=hunter2; user=bob", "password=[REDACTED]; user=bob"),
            ("key 9f86d081884c7d659a2feaa0c55ad015 rejected", "key [REDACTED] rejected"),
            ("gsk_abcdefghijklmnop1234 and xai-ABCDEFGH12345678", "[REDACTED] and [REDACTED]"),
            ("AIzaSyA1234567890abcdefghij", "[REDACTED]"),
            ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt eyJhbGciOiJIUzI1NiJ9.[REDACTED].[REDACTED]"),
            // Not secrets: model ids, endpoint ids, UUIDs, parameter names.
            ("model deepseek-r1-distill-llama-70b-instruct not found", "model deepseek-r1-distill-llama-70b-instruct not found"),
            ("no route to ep-20250613210739-qjxdl", "no route to ep-20250613210739-qjxdl"),
            ("request 123e4567-e89b-12d3-a456-426614174000 failed", "request 123e4567-e89b-12d3-a456-426614174000 failed"),
            ("max_tokens=100 exceeds the limit", "max_tokens=100 exceeds the limit"),
            ("502 Bad Gateway", "502 Bad Gateway"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_secrets(input), want, "{input}");
        }
        assert!(matches!(
            redact_secrets("502 Bad Gateway"),
            Cow::Borrowed(_)
        ));
        // Runs of 12 or more that are not secrets, and text in other scripts, are kept as
        // they are, without a copy.
        let kept = r#"{"id":"chatcmpl-mock1796444104","system_fingerprint":"fp_mock","content":"量子计算机 sk-"}"#;
        assert!(matches!(redact_secrets(kept), Cow::Borrowed(_)));
        assert_eq!(
            redact_secrets("量子sk-abcdefghijkl9é end sk-short"),
            "量子[REDACTED]é end sk-short"
        );
    }
}

//! The config of running as several keys, limits and instances: `auth.keys`, channel and
//! provider `limits` / `model_limits`, and `state`.
//!
//! Rules decided here:
//! - key names match the channel-id alphabet and are unique; a key has exactly one of
//!   `token` and `token_sha256` (64 hex digits); a key whose `token` names an unset variable
//!   is left out with a warning (it cannot be presented, so nobody is locked in by it);
//!   tokens are unique across keys; budgets are > 0;
//!   `expires_at` is RFC 3339 or a plain date (midnight UTC);
//! - every limit is > 0 (absent means unlimited);
//! - `state.redis_url` is a `redis://` or `rediss://` URL; `key_prefix` is not empty;
//!   `timeout_ms` in 1..=1000.
//! - `history.url` is a `postgres://` or `postgresql://` URL (empty means unset); a message
//!   about it never echoes the value (it holds a password).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::interpolate::UnsetVariable;
use super::problems::Problems;
use super::raw::{RawClientKey, RawLimits, RawState};

/// Problems found here: (key path, message), reported by `validate` with the file and line.
#[derive(Debug, Default)]
pub(super) struct Findings(pub Vec<(String, String)>);

impl Findings {
    fn push(&mut self, key_path: impl Into<String>, message: impl Into<String>) {
        self.0.push((key_path.into(), message.into()));
    }
}

/// Report what was found here with the file and line (`Problems`).
pub(super) fn report(problems: &mut Problems<'_>, findings: Findings) {
    for (key_path, message) in findings.0 {
        problems.push(key_path, message);
    }
}

/// A name of the channel-id alphabet: 1 to 64 of `A-Z a-z 0-9 _ . -`.
fn is_valid_name(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
use super::{ClientKeyConfig, KeyToken, RateLimits, Secret, StateConfig};

/// A `limits` block and its `model_limits` overrides.
pub(super) fn validate_limits(
    problems: &mut Findings,
    path: &str,
    limits: Option<RawLimits>,
    model_limits: &BTreeMap<String, RawLimits>,
) -> (RateLimits, Vec<(String, RateLimits)>) {
    let limits = limits.map_or_else(RateLimits::default, |l| {
        one_limits(problems, &format!("{path}.limits"), l)
    });
    let models = model_limits
        .iter()
        .map(|(model, l)| {
            let at = format!("{path}.model_limits.{model}");
            if model.trim().is_empty() || model == "*" {
                problems.push(&at, "name a model id, or `*suffix` such as `*:free`");
            }
            (model.trim().to_string(), one_limits(problems, &at, *l))
        })
        .collect();
    (limits, models)
}

fn one_limits(problems: &mut Findings, path: &str, raw: RawLimits) -> RateLimits {
    let mut positive = |name: &str, value: Option<u64>| {
        if value == Some(0) {
            problems.push(
                format!("{path}.{name}"),
                "must be at least 1 (leave it out for no limit)",
            );
        }
    };
    positive("rpm", raw.rpm.map(u64::from));
    positive("rpd", raw.rpd.map(u64::from));
    positive("tpm", raw.tpm);
    positive("concurrency", raw.concurrency.map(u64::from));
    RateLimits {
        rpm: raw.rpm,
        rpd: raw.rpd,
        tpm: raw.tpm,
        concurrency: raw.concurrency,
    }
}

/// `state:`.
pub(super) fn validate_state(problems: &mut Findings, raw: &RawState) -> StateConfig {
    let redis_url = raw
        .redis_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if let Some(url) = redis_url {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            problems.push(
                "state.redis_url",
                "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0",
            );
        } else if let Err(e) = reqwest::Url::parse(url) {
            // The reason, never the value: it may hold a password.
            problems.push("state.redis_url", format!("does not parse as a URL ({e})"));
        }
    }
    if raw.key_prefix.trim().is_empty() {
        problems.push("state.key_prefix", "must not be empty, e.g. \"sar:\"");
    }
    if !(1..=1000).contains(&raw.timeout_ms) {
        problems.push(
            "state.timeout_ms",
            format!("must be in 1..=1000, got {}", raw.timeout_ms),
        );
    }
    StateConfig {
        redis_url: redis_url.map(Secret::new),
        key_prefix: raw.key_prefix.trim().to_string(),
        timeout: Duration::from_millis(raw.timeout_ms.clamp(1, 1000)),
    }
}

/// `history.url`: the shared PostgreSQL history, or `None` (SQLite).
pub(super) fn validate_history_url(
    problems: &mut Problems<'_>,
    raw: Option<&str>,
) -> Option<Secret> {
    let url = raw.map(str::trim).filter(|u| !u.is_empty())?;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        problems.push(
            "history.url",
            "must be a postgres:// URL, e.g. postgres://user:password@127.0.0.1:5432/router",
        );
        return None;
    }
    if let Err(e) = reqwest::Url::parse(url) {
        // The reason, never the value: it holds a password.
        problems.push("history.url", format!("does not parse as a URL ({e})"));
        return None;
    }
    Some(Secret::new(url))
}

/// `auth.keys`.
pub(super) fn validate_keys(
    problems: &mut Findings,
    raw: &[RawClientKey],
    unset: &[UnsetVariable],
    warnings: &mut Vec<String>,
) -> Vec<Arc<ClientKeyConfig>> {
    let mut keys: Vec<Arc<ClientKeyConfig>> = Vec::with_capacity(raw.len());
    for (index, key) in raw.iter().enumerate() {
        let path = format!("auth.keys[{index}]");
        if !is_valid_name(&key.name) {
            problems.push(
                format!("{path}.name"),
                format!(
                    "{:?} is not a valid key name: use 1 to 64 of A-Z a-z 0-9 _ . -",
                    key.name
                ),
            );
        }
        if keys.iter().any(|k| k.name == key.name) {
            problems.push(
                format!("{path}.name"),
                format!("duplicate key name {:?}", key.name),
            );
        }
        let token_unset = unset.iter().any(|u| u.key_path == format!("{path}.token"));
        let Some(token) = key_token(problems, &path, key, token_unset) else {
            if token_unset {
                warnings.push(format!(
                    "client key {} left out: its token names an unset variable",
                    key.name
                ));
            }
            continue;
        };
        if keys.iter().any(|k| k.token == token) {
            problems.push(
                format!("{path}.token"),
                "another key has the same token: each key needs its own",
            );
        }
        keys.push(Arc::new(ClientKeyConfig {
            name: key.name.clone(),
            key_path: path.clone(),
            token,
            daily_budget: budget(problems, &format!("{path}.daily_budget"), key.daily_budget),
            monthly_budget: budget(
                problems,
                &format!("{path}.monthly_budget"),
                key.monthly_budget,
            ),
            rpm: at_least_one(problems, &format!("{path}.rpm"), key.rpm.map(u64::from))
                .map(|v| v as u32),
            tpm: at_least_one(problems, &format!("{path}.tpm"), key.tpm),
            allow: allow_query(key.allow.as_deref()),
            expires_at: expiry(problems, &format!("{path}.expires_at"), key),
            disabled: key.disabled,
        }));
    }
    keys
}

fn key_token(
    problems: &mut Findings,
    path: &str,
    key: &RawClientKey,
    token_unset: bool,
) -> Option<KeyToken> {
    let plain = key
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (plain, key.token_sha256.as_deref().map(str::trim)) {
        (Some(_), Some(_)) => {
            problems.push(path, "set `token` or `token_sha256`, not both");
            None
        }
        (Some(_), None) if token_unset => None,
        (Some(token), None) => Some(KeyToken::Plain(Secret::new(token))),
        (None, Some(hex)) => match parse_sha256(hex) {
            Some(digest) => Some(KeyToken::Sha256(digest)),
            None => {
                problems.push(
                    format!("{path}.token_sha256"),
                    "must be 64 hex digits (the SHA-256 of the token)",
                );
                None
            }
        },
        (None, None) if token_unset => None,
        (None, None) => {
            problems.push(
                path,
                "needs `token` (e.g. ${FAMILY_TOKEN}) or `token_sha256`",
            );
            None
        }
    }
}

/// 64 hex digits into 32 bytes.
pub fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        digest[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

fn budget(problems: &mut Findings, path: &str, value: Option<f64>) -> Option<f64> {
    let value = value?;
    if !(value.is_finite() && value > 0.0) {
        problems.push(path, format!("must be a positive amount, got {value}"));
        return None;
    }
    Some(value)
}

fn at_least_one(problems: &mut Findings, path: &str, value: Option<u64>) -> Option<u64> {
    if value == Some(0) {
        problems.push(path, "must be at least 1 (leave it out for no limit)");
        return None;
    }
    value
}

/// The `allow` query as written; `query::load_config` parses it (the query language sits
/// above the config layer), so a query that does not parse is a config error.
fn allow_query(allow: Option<&str>) -> Option<String> {
    allow
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
}

fn expiry(problems: &mut Findings, path: &str, key: &RawClientKey) -> Option<DateTime<Utc>> {
    let text = key.expires_at.as_deref().map(str::trim)?;
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    problems.push(
        path,
        format!("{text:?} is not a date: use 2027-01-31 or 2027-01-31T00:00:00Z"),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_url_that_does_not_parse_is_refused_without_its_value() {
        let mut problems = Findings::default();
        let raw = RawState {
            redis_url: Some("redis://:pw-secret-1@h:99999".into()),
            ..RawState::default()
        };
        validate_state(&mut problems, &raw);
        assert_eq!(
            problems.0,
            [(
                "state.redis_url".to_string(),
                "does not parse as a URL (invalid port number)".to_string()
            )]
        );
    }

    #[test]
    fn sha256_digests_parse_from_64_hex_digits_only() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let digest = parse_sha256(hex).expect("valid");
        assert_eq!(digest[0], 0x9f);
        assert_eq!(digest[31], 0x08);
        assert_eq!(parse_sha256(&hex[..62]), None);
        assert_eq!(parse_sha256(&hex.replace('9', "g")), None);
    }

    #[test]
    fn a_models_limits_override_the_channels_one_by_one() {
        let channel = RateLimits {
            rpm: Some(20),
            rpd: Some(50),
            tpm: None,
            concurrency: None,
        };
        let model = RateLimits {
            rpm: Some(5),
            ..RateLimits::default()
        };
        assert_eq!(
            channel.overridden_by(model),
            RateLimits {
                rpm: Some(5),
                rpd: Some(50),
                tpm: None,
                concurrency: None
            }
        );
    }
}

//! Named client keys (`auth.keys`): which key a token is, whether that key may send one more
//! request now (disabled, expired, over a budget, over its rpm or tpm), and which models its
//! `allow` query lets it reach.
//!
//! The auth middleware finds the key and hands a [`ClientKey`] to the proxy as a request
//! extension; the proxy bounds the candidates with it and writes its name into the usage
//! record. A key's token is compared in constant time and never leaves this module.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Full, RateWindows};
use crate::catalog::Catalog;
use crate::config::{ClientKeyConfig, KeyToken, RateLimits};
use crate::query::{parse_query, resolve, Needs, Query};
use crate::scoring::Ranked;

/// The key a request came with (a request extension).
#[derive(Debug, Clone)]
pub struct ClientKey {
    pub name: Arc<str>,
    pub config: Arc<ClientKeyConfig>,
    /// The window scope of its rpm and tpm: `key:<name>`.
    pub scope: Arc<str>,
    pub limits: RateLimits,
    allow: Option<Arc<Query>>,
}

/// Why a key may not send a request now.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRefusal {
    Disabled,
    Expired,
    OverBudget {
        period: &'static str,
        budget: f64,
        spent: f64,
        retry_after: Duration,
    },
    Rate(Full),
}

impl KeyRefusal {
    /// The message for the client, naming the limit.
    pub fn message(&self, name: &str) -> String {
        match self {
            KeyRefusal::Disabled => format!("Key {name:?} is disabled (auth.keys)."),
            KeyRefusal::Expired => format!("Key {name:?} has expired (auth.keys expires_at)."),
            KeyRefusal::OverBudget {
                period,
                budget,
                spent,
                ..
            } => format!(
                "Key {name:?} is over its {period} budget of {budget:.2} ({spent:.4} spent); it resets at the start of the next {} (UTC).",
                if *period == "daily" { "day" } else { "month" }
            ),
            KeyRefusal::Rate(full) => format!("Key {name:?}: {}.", full.describe()),
        }
    }

    /// `Retry-After` for a 429; `None` for a refusal that waiting does not lift.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            KeyRefusal::OverBudget { retry_after, .. } => Some(*retry_after),
            KeyRefusal::Rate(full) => Some(full.retry_after.max(Duration::from_secs(1))),
            KeyRefusal::Disabled | KeyRefusal::Expired => None,
        }
    }
}

impl ClientKey {
    pub fn new(config: Arc<ClientKeyConfig>) -> Self {
        let allow = config.allow.as_deref().map(|text| match parse_query(text) {
            Ok(query) => Arc::new(query),
            // Validated at load; a query that no longer parses reaches nothing.
            Err(_) => Arc::new(Query::Name(String::new())),
        });
        Self {
            name: Arc::from(config.name.as_str()),
            scope: Arc::from(format!("key:{}", config.name)),
            limits: RateLimits {
                rpm: config.rpm,
                tpm: config.tpm,
                ..RateLimits::default()
            },
            config,
            allow,
        }
    }

    /// Keep the ranked candidates the key's `allow` query reaches (all without one).
    pub fn bound(&self, catalog: &Catalog, needs: &Needs<'_>, candidates: &mut Vec<Ranked>) {
        let (Some(query), Some(text)) = (&self.allow, self.config.allow.as_deref()) else {
            return;
        };
        let allowed = match resolve(catalog, text, query, needs, false) {
            Ok(resolution) => resolution.candidates,
            Err(_) => Vec::new(),
        };
        candidates.retain(|r| allowed.contains(&r.entry));
    }
}

/// The key whose token is `presented`, if any (every key is compared, in constant time).
pub fn find_key<'a>(
    keys: &'a [Arc<ClientKeyConfig>],
    presented: &str,
) -> Option<&'a Arc<ClientKeyConfig>> {
    let mut digest: Option<[u8; 32]> = None;
    let mut found = None;
    for key in keys {
        let same = match &key.token {
            KeyToken::Plain(token) => {
                bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes()))
            }
            KeyToken::Sha256(expected) => {
                let digest =
                    digest.get_or_insert_with(|| Sha256::digest(presented.as_bytes()).into());
                bool::from(digest.ct_eq(expected))
            }
        };
        if same && found.is_none() {
            found = Some(key);
        }
    }
    found
}

/// Spend of a key, in USD: today and this month so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KeySpend {
    pub today: f64,
    pub month: f64,
}

/// Whether `key` may send one more request at `now`; counts it in its rpm window when so.
pub fn admit_key(
    key: &ClientKey,
    spend: KeySpend,
    windows: &RateWindows,
    now: DateTime<Utc>,
    now_ms: u64,
) -> Result<(), KeyRefusal> {
    let config = &key.config;
    if config.disabled {
        return Err(KeyRefusal::Disabled);
    }
    if config.expires_at.is_some_and(|at| now >= at) {
        return Err(KeyRefusal::Expired);
    }
    let today = now.date_naive();
    if let Some(budget) = config.daily_budget.filter(|b| spend.today >= *b) {
        return Err(KeyRefusal::OverBudget {
            period: "daily",
            budget,
            spent: spend.today,
            retry_after: until(now, today.succ_opt()),
        });
    }
    if let Some(budget) = config.monthly_budget.filter(|b| spend.month >= *b) {
        return Err(KeyRefusal::OverBudget {
            period: "monthly",
            budget,
            spent: spend.month,
            retry_after: until(now, next_month(today)),
        });
    }
    if key.limits.is_unlimited() {
        return Ok(());
    }
    windows
        .admit(&[(&key.scope, &key.limits)], now_ms)
        .map_err(KeyRefusal::Rate)
}

/// After a usage record: its tokens count toward its key's `tpm` window.
pub fn count_tokens(windows: &RateWindows, record: &crate::usage::record::UsageRecord) {
    if let Some(name) = &record.key_name {
        if record.total_tokens > 0 {
            windows.add_tokens(&format!("key:{name}"), record.total_tokens, super::now_ms());
        }
    }
}

/// The first day of the month of `day`.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
}

fn until(now: DateTime<Utc>, day: Option<NaiveDate>) -> Duration {
    day.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc() - now)
        .and_then(|d| d.to_std().ok())
        .unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn key(name: &str, token: KeyToken) -> Arc<ClientKeyConfig> {
        Arc::new(ClientKeyConfig {
            name: name.into(),
            key_path: "auth.keys[0]".into(),
            token,
            daily_budget: Some(1.0),
            monthly_budget: Some(10.0),
            rpm: Some(2),
            tpm: None,
            allow: None,
            expires_at: DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
            disabled: false,
        })
    }

    #[test]
    fn tokens_are_found_in_plain_and_as_sha256() {
        let digest: [u8; 32] = Sha256::digest(b"family-token").into();
        let keys = vec![
            key("team", KeyToken::Plain(Secret::new("team-token"))),
            key("family", KeyToken::Sha256(digest)),
        ];
        assert_eq!(
            find_key(&keys, "team-token").map(|k| k.name.as_str()),
            Some("team")
        );
        assert_eq!(
            find_key(&keys, "family-token").map(|k| k.name.as_str()),
            Some("family")
        );
        assert_eq!(
            find_key(&keys, "team-token2").map(|k| k.name.as_str()),
            None
        );
        assert_eq!(find_key(&keys, "").map(|k| k.name.as_str()), None);
    }

    #[test]
    fn refusals_name_the_limit_and_when_it_lifts() {
        let key = ClientKey::new(key("team", KeyToken::Plain(Secret::new("t"))));
        let windows = RateWindows::new();
        let now = DateTime::parse_from_rfc3339("2026-12-04T23:00:30Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("time");
        let ms = now.timestamp_millis() as u64;
        let fine = KeySpend {
            today: 0.5,
            month: 5.0,
        };
        assert_eq!(admit_key(&key, fine, &windows, now, ms), Ok(()));
        assert_eq!(admit_key(&key, fine, &windows, now, ms), Ok(()));
        let third = admit_key(&key, fine, &windows, now, ms).expect_err("rpm 2");
        assert_eq!(third.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(
            third.message("team"),
            "Key \"team\": rpm limit of 2 reached; the window resets in 30s."
        );
        let daily = admit_key(
            &key,
            KeySpend {
                today: 1.0,
                month: 5.0,
            },
            &windows,
            now,
            ms,
        )
        .expect_err("daily budget");
        assert_eq!(daily.retry_after(), Some(Duration::from_secs(3570)));
        assert!(daily.message("team").contains("daily budget of 1.00"));
        let monthly = admit_key(
            &key,
            KeySpend {
                today: 0.0,
                month: 10.0,
            },
            &windows,
            now,
            ms,
        )
        .expect_err("monthly budget");
        assert_eq!(
            monthly.retry_after(),
            Some(Duration::from_secs(27 * 86400 + 3570))
        );
        let later = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("time");
        assert_eq!(
            admit_key(&key, fine, &windows, later, ms),
            Err(KeyRefusal::Expired)
        );
    }
}

//! The error collector of validation and the small checks every section shares (URLs, ids),
//! used by `validate`, `validate_channels` and `validate_routing` alike.

use std::time::Duration;

use super::error::ConfigError;

/// Collects errors for one file.
pub(super) struct Problems<'a> {
    pub(super) file: &'a str,
    pub(super) errors: &'a mut Vec<ConfigError>,
}

impl Problems<'_> {
    pub(super) fn push(&mut self, key_path: impl Into<String>, message: impl Into<String>) {
        self.errors
            .push(ConfigError::new(self.file, key_path, message));
    }

    pub(super) fn positive_seconds(&mut self, key_path: &str, seconds: f64) -> Duration {
        if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 {
            Duration::from_secs_f64(seconds)
        } else {
            self.push(
                key_path,
                format!("must be a positive number of seconds, got {seconds}"),
            );
            Duration::from_secs(1)
        }
    }

    pub(super) fn non_negative(&mut self, key_path: &str, value: f64) -> f64 {
        if value.is_finite() && value >= 0.0 {
            value
        } else {
            self.push(key_path, format!("must be a number >= 0, got {value}"));
            0.0
        }
    }
}

pub(super) fn check_url(problems: &mut Problems<'_>, key_path: &str, url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {}
        Ok(parsed) => problems.push(
            key_path,
            format!(
                "must be an http or https URL, got scheme {:?}",
                parsed.scheme()
            ),
        ),
        Err(e) => problems.push(
            key_path,
            format!(
                "not a URL ({e}): {:?}",
                super::secret::url_without_credentials(trimmed)
            ),
        ),
    }
    trimmed.to_string()
}

/// `[A-Za-z0-9_.-]{1,64}`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

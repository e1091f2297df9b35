//! Channel alerts: the rules that turn upstream errors into alerts, and their file
//! `logs/channel_alerts.jsonl`, one JSON object per line (docs/config.md, docs/failover.md, docs/http-api.md, docs/http-api.md).
//!
//! Owns when an alert is written, its line format (`channel_id, channel_name, alert_type,
//! message, timestamp, details`, as the original router wrote them) and clearing. It must
//! never read the clock (`now` is passed in) and never write a secret: every message is passed
//! through [`redact_secrets`] before it is kept or written.
//!
//! Rules decided here:
//! - Alert types: `invalid_api_key`, `quota_exhausted`, `budget_warning`, `budget_exceeded`,
//!   `repeated_errors` (the suggested `consecutive_errors`, renamed: a success does not reset
//!   the count, so the errors are not necessarily consecutive). Lines of other types (e.g. the
//!   original router's `api_key_invalid`) load and list unchanged.
//! - [`AlertLog::record_error`]: `InvalidApiKey` and `QuotaExhausted` alert at once; every
//!   other class alerts when it is the 3rd error of that channel within 5 minutes (the first
//!   and third at most 300 s apart, inclusive); those errors are then forgotten.
//! - Quiet hour: after an alert of type T for channel C, `record_error` writes no other T
//!   alert for C for one hour (an alert at exactly +1 h is written). The quiet state is
//!   rebuilt from the file on open, so a restart does not repeat alerts. [`AlertLog::push`]
//!   (budget alerts) applies no rule: the budget check decides, using
//!   [`AlertLog::last_alert_at`].
//! - Messages pass through [`redact_secrets`] (the rules are in `upstream::redact`) and are
//!   cut to 500 characters.
//! - `clear_channel` / `clear_all` remove the alerts from memory and from the file (rewritten
//!   as `channel_alerts.jsonl.tmp`, synced, renamed over the file) and reset that channel's
//!   quiet hours and error counts. Lines that failed to parse on open are dropped by a rewrite.
//! - All alerts of the file stay in memory (quiet hours make them few); `recent` filters.
//! - [`AlertLog::error_alert_due`] applies the rules without writing, for a caller that
//!   writes only the alerts it claims (`shared_state::alerts`: once across instances).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::upstream::redact::redact_secrets;
use crate::usage::logfiles::{append_lines, create_private_dir, open_private_append};

/// Errors of one channel within this window...
const ERROR_WINDOW_SECONDS: i64 = 300;
/// ...this many, raise a `repeated_errors` alert.
const ERRORS_BEFORE_ALERT: usize = 3;
/// No second alert of a type for a channel within this long.
pub const QUIET_SECONDS: i64 = 3600;
const MAX_MESSAGE_CHARS: usize = 500;
const MAX_HOURS: u32 = 168;
/// Alerts kept for a later write while the file cannot be written.
const MAX_UNWRITTEN: usize = 1000;

/// The kinds of alert this gateway writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertType {
    InvalidApiKey,
    QuotaExhausted,
    BudgetWarning,
    BudgetExceeded,
    RepeatedErrors,
    /// The gateway cannot write its usage log (channel id `gateway`).
    UsageLogWrite,
}

impl AlertType {
    /// The `alert_type` value written.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::InvalidApiKey => "invalid_api_key",
            AlertType::QuotaExhausted => "quota_exhausted",
            AlertType::BudgetWarning => "budget_warning",
            AlertType::BudgetExceeded => "budget_exceeded",
            AlertType::RepeatedErrors => "repeated_errors",
            AlertType::UsageLogWrite => "usage_log_write_failed",
        }
    }
}

/// What kind of upstream error a channel returned (classified by the proxy, docs/failover.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401/403 not about rate limits.
    InvalidApiKey,
    /// 402, or a body about quota, balance or credits.
    QuotaExhausted,
    RateLimited,
    ServerError,
    Timeout,
    Connection,
    Other,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::InvalidApiKey => "invalid_api_key",
            ErrorClass::QuotaExhausted => "quota_exhausted",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::ServerError => "server_error",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connection => "connection",
            ErrorClass::Other => "other",
        }
    }
}

/// One line of `channel_alerts.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelAlert {
    pub channel_id: String,
    pub channel_name: String,
    pub alert_type: String,
    pub message: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    #[serde(default)]
    pub details: Option<Value>,
}

impl ChannelAlert {
    /// A new alert stamped `now`; the message is redacted and cut.
    pub fn new(
        channel_id: &str,
        channel_name: &str,
        alert_type: AlertType,
        message: &str,
        details: Option<Value>,
        now: DateTime<Utc>,
    ) -> Self {
        ChannelAlert {
            channel_id: channel_id.to_owned(),
            channel_name: channel_name.to_owned(),
            alert_type: alert_type.as_str().to_owned(),
            message: clean_message(message),
            timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            details,
        }
    }
}

/// The `data` of GET /v1/stats/alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertsReport {
    pub time_range_hours: u32,
    pub total_alerts: usize,
    pub alert_counts: BTreeMap<String, usize>,
    pub alerts: Vec<ChannelAlert>,
}

/// An alert with its parsed time.
#[derive(Debug, Clone)]
struct StoredAlert {
    at: DateTime<Utc>,
    alert: ChannelAlert,
}

/// The alert file and the state of the alert rules.
#[derive(Debug)]
pub struct AlertLog {
    path: PathBuf,
    /// In file order.
    alerts: Vec<StoredAlert>,
    /// channel id -> (alert type, time of its last alert).
    last_alert: HashMap<String, Vec<(String, DateTime<Utc>)>>,
    /// channel id -> times of its latest counted errors (at most `ERRORS_BEFORE_ALERT`).
    recent_errors: HashMap<String, VecDeque<DateTime<Utc>>>,
    skipped_lines: usize,
    /// Alerts kept in memory whose line could not be written yet (oldest first, bounded);
    /// written before the next alert.
    unwritten: VecDeque<ChannelAlert>,
    write_errors: u64,
}

impl AlertLog {
    /// Loads the alerts in `path` (a missing file is empty; lines that do not parse, or whose
    /// timestamp is not RFC 3339, are skipped and counted).
    /// A log with no alerts yet, writing to `path` (used when the file cannot be read).
    pub fn empty(path: impl Into<PathBuf>) -> AlertLog {
        AlertLog {
            path: path.into(),
            alerts: Vec::new(),
            last_alert: HashMap::new(),
            recent_errors: HashMap::new(),
            skipped_lines: 0,
            unwritten: VecDeque::new(),
            write_errors: 0,
        }
    }

    pub fn open(path: impl Into<PathBuf>) -> io::Result<AlertLog> {
        let mut log = AlertLog::empty(path);
        let file = match File::open(&log.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(log),
            Err(e) => return Err(e),
        };
        for line in BufReader::new(file).split(b'\n') {
            let line = line?;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Some(stored) => log.remember(stored),
                None => log.skipped_lines += 1,
            }
        }
        Ok(log)
    }

    /// Lines of the file that could not be read on open.
    pub fn skipped_lines(&self) -> usize {
        self.skipped_lines
    }

    /// Applies the alert rules to one upstream error of a channel; returns the alert when one
    /// was written.
    pub fn record_error(
        &mut self,
        channel_id: &str,
        channel_name: &str,
        class: ErrorClass,
        message: &str,
        now: DateTime<Utc>,
    ) -> io::Result<Option<ChannelAlert>> {
        let Some(alert) = self.error_alert_due(channel_id, channel_name, class, message, now)
        else {
            return Ok(None);
        };
        self.push(alert.clone())?;
        Ok(Some(alert))
    }

    /// Applies the alert rules to one upstream error of a channel without writing: the alert
    /// due, if any, for the caller to [`push`](AlertLog::push) (or to leave to the instance
    /// that claims it). A `repeated_errors` alert due forgets its errors.
    pub fn error_alert_due(
        &mut self,
        channel_id: &str,
        channel_name: &str,
        class: ErrorClass,
        message: &str,
        now: DateTime<Utc>,
    ) -> Option<ChannelAlert> {
        let (alert_type, text, details) = match class {
            ErrorClass::InvalidApiKey => (
                AlertType::InvalidApiKey,
                format!("API key rejected by the upstream: {message}"),
                json!({ "error_class": class.as_str() }),
            ),
            ErrorClass::QuotaExhausted => (
                AlertType::QuotaExhausted,
                format!("quota or balance exhausted: {message}"),
                json!({ "error_class": class.as_str() }),
            ),
            _ => {
                if !self.count_error(channel_id, now) {
                    return None;
                }
                (
                    AlertType::RepeatedErrors,
                    format!(
                        "{ERRORS_BEFORE_ALERT} errors within {} minutes; last ({}): {message}",
                        ERROR_WINDOW_SECONDS / 60,
                        class.as_str()
                    ),
                    json!({
                        "error_class": class.as_str(),
                        "errors": ERRORS_BEFORE_ALERT,
                        "window_seconds": ERROR_WINDOW_SECONDS,
                    }),
                )
            }
        };
        if self.is_quiet(channel_id, alert_type.as_str(), now) {
            return None;
        }
        if alert_type == AlertType::RepeatedErrors {
            self.recent_errors.remove(channel_id);
        }
        Some(ChannelAlert::new(
            channel_id,
            channel_name,
            alert_type,
            &text,
            Some(details),
            now,
        ))
    }

    /// Writes an alert decided elsewhere (budgets) without applying the rules. The message is
    /// redacted again; a timestamp that is not RFC 3339 is an `InvalidInput` error.
    ///
    /// When the file cannot be written, the alert is kept in memory all the same (listed,
    /// quiet hours apply), counted in [`AlertLog::write_errors`], and written before the next
    /// alert; the error is returned for the caller to log.
    pub fn push(&mut self, mut alert: ChannelAlert) -> io::Result<()> {
        let at = parse_time(&alert.timestamp).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "alert timestamp is not RFC 3339",
            )
        })?;
        alert.message = clean_message(&alert.message);
        if self.unwritten.len() >= MAX_UNWRITTEN {
            self.unwritten.pop_front();
        }
        self.unwritten.push_back(alert.clone());
        self.remember(StoredAlert { at, alert });
        self.write_unwritten()
    }

    /// Alerts whose write failed (kept in memory, retried).
    pub fn write_errors(&self) -> u64 {
        self.write_errors
    }

    fn write_unwritten(&mut self) -> io::Result<()> {
        let mut lines = Vec::new();
        for alert in &self.unwritten {
            lines.extend(serde_json::to_vec(alert).map_err(io::Error::other)?);
            lines.push(b'\n');
        }
        match append_lines_to(&self.path, &lines) {
            Ok(()) => {
                self.unwritten.clear();
                Ok(())
            }
            Err(e) => {
                self.write_errors += 1;
                Err(e)
            }
        }
    }

    /// When the last alert of `alert_type` for `channel_id` was written, if ever.
    pub fn last_alert_at(&self, channel_id: &str, alert_type: AlertType) -> Option<DateTime<Utc>> {
        let kinds = self.last_alert.get(channel_id)?;
        kinds
            .iter()
            .find(|(kind, _)| kind == alert_type.as_str())
            .map(|(_, at)| *at)
    }

    /// Alerts stamped within the `hours` (clamped to 1..=168) up to `now`, inclusive at both
    /// ends, newest first.
    pub fn recent(&self, hours: u32, now: DateTime<Utc>) -> AlertsReport {
        let hours = hours.clamp(1, MAX_HOURS);
        let since = now
            .checked_sub_signed(Duration::hours(i64::from(hours)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut picked: Vec<&StoredAlert> = self
            .alerts
            .iter()
            .rev()
            .filter(|s| s.at >= since && s.at <= now)
            .collect();
        picked.sort_by_key(|s| std::cmp::Reverse(s.at)); // stable: ties keep newest-written first
        let mut alert_counts = BTreeMap::new();
        for stored in &picked {
            *alert_counts
                .entry(stored.alert.alert_type.clone())
                .or_insert(0) += 1;
        }
        AlertsReport {
            time_range_hours: hours,
            total_alerts: picked.len(),
            alert_counts,
            alerts: picked.into_iter().map(|s| s.alert.clone()).collect(),
        }
    }

    /// The channels that have at least one alert in the log, sorted (the original router's
    /// `notified_channels`).
    pub fn notified_channels(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .alerts
            .iter()
            .map(|s| s.alert.channel_id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The time of the newest alert of `channel_id`, of any type.
    pub fn latest_alert_at(&self, channel_id: &str) -> Option<DateTime<Utc>> {
        self.last_alert
            .get(channel_id)?
            .iter()
            .map(|(_, at)| *at)
            .max()
    }

    /// Whether the log holds an alert of `channel_id`.
    pub fn has_channel(&self, channel_id: &str) -> bool {
        self.alerts.iter().any(|s| s.alert.channel_id == channel_id)
    }

    /// Removes a channel's alerts (memory and file) and resets its rules; returns how many.
    pub fn clear_channel(&mut self, channel_id: &str) -> io::Result<usize> {
        let kept: Vec<StoredAlert> = self
            .alerts
            .iter()
            .filter(|s| s.alert.channel_id != channel_id)
            .cloned()
            .collect();
        let removed = self.alerts.len() - kept.len();
        rewrite(&self.path, &kept)?;
        self.alerts = kept;
        self.last_alert.remove(channel_id);
        self.recent_errors.remove(channel_id);
        Ok(removed)
    }

    /// Removes every alert (memory and file) and resets all rules; returns how many.
    pub fn clear_all(&mut self) -> io::Result<usize> {
        rewrite(&self.path, &[])?;
        let removed = self.alerts.len();
        self.alerts.clear();
        self.last_alert.clear();
        self.recent_errors.clear();
        Ok(removed)
    }

    fn remember(&mut self, stored: StoredAlert) {
        let kinds = self
            .last_alert
            .entry(stored.alert.channel_id.clone())
            .or_default();
        match kinds
            .iter_mut()
            .find(|(kind, _)| *kind == stored.alert.alert_type)
        {
            Some((_, at)) => *at = (*at).max(stored.at),
            None => kinds.push((stored.alert.alert_type.clone(), stored.at)),
        }
        self.alerts.push(stored);
    }

    /// Counts an error; true when it is the `ERRORS_BEFORE_ALERT`-th within the window.
    fn count_error(&mut self, channel_id: &str, now: DateTime<Utc>) -> bool {
        if !self.recent_errors.contains_key(channel_id) {
            self.recent_errors
                .insert(channel_id.to_owned(), VecDeque::new());
        }
        let Some(times) = self.recent_errors.get_mut(channel_id) else {
            return false;
        };
        times.push_back(now);
        while times.len() > ERRORS_BEFORE_ALERT {
            times.pop_front();
        }
        let window = Duration::seconds(ERROR_WINDOW_SECONDS);
        times.len() == ERRORS_BEFORE_ALERT
            && times.front().is_some_and(|&first| now - first <= window)
    }

    fn is_quiet(&self, channel_id: &str, alert_type: &str, now: DateTime<Utc>) -> bool {
        self.last_alert.get(channel_id).is_some_and(|kinds| {
            kinds.iter().any(|(kind, at)| {
                kind == alert_type && now - *at < Duration::seconds(QUIET_SECONDS)
            })
        })
    }
}

fn parse_line(line: &[u8]) -> Option<StoredAlert> {
    let alert: ChannelAlert = serde_json::from_slice(line).ok()?;
    let at = parse_time(&alert.timestamp)?;
    Some(StoredAlert { at, alert })
}

fn parse_time(timestamp: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(timestamp)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whole lines or nothing (`logfiles::append_lines`), in a file created 0600.
fn append_lines_to(path: &Path, lines: &[u8]) -> io::Result<()> {
    let mut file = open_private_append(path)?;
    let mut torn = false;
    append_lines(&mut file, lines, &mut torn)
}

/// Replaces the file with `alerts`: write a temp file beside it, sync, rename.
fn rewrite(path: &Path, alerts: &[StoredAlert]) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    ensure_parent(path)?;
    let result = (|| {
        let _ = fs::remove_file(&tmp);
        let mut out = io::BufWriter::new(open_private_append(&tmp)?);
        for stored in alerts {
            serde_json::to_writer(&mut out, &stored.alert).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn ensure_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => create_private_dir(parent),
        None => Ok(()),
    }
}

fn clean_message(message: &str) -> String {
    let redacted = redact_secrets(message);
    match redacted.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", redacted.get(..cut).unwrap_or_default()),
        None => redacted.into_owned(),
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;

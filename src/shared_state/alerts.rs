//! Channel error alerts (`invalid_api_key`, `quota_exhausted`, `repeated_errors`) written
//! once across instances. Each instance applies the alert rules to the errors it sees
//! (`stats::alerts`); an alert they find due is claimed as `alert:<type>:<channel>` for the
//! quiet hour, so the instance that wins writes it to its own alert log and the others write
//! nothing — the same quiet hour the rules keep on one instance, kept across all of them.
//!
//! Without a shared state, or while it is degraded, the alert is written here at once
//! (better twice than never). Runs off the request path (the usage writer's thread).
//!
//! The names of every alert claim live here (budget alerts claim one per type, budget and
//! UTC day), so clearing a channel's alerts can give its claims up: after a clear, the next
//! alert of that channel is written again, as on a single instance.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::SharedState;
use crate::stats::alerts::{AlertLog, AlertType, ErrorClass, QUIET_SECONDS};

/// One upstream error of a channel, as the alert rules need it.
#[derive(Debug, Clone)]
pub struct ChannelError {
    pub channel_id: String,
    pub channel_name: String,
    pub class: ErrorClass,
    pub message: String,
}

/// Apply the alert rules to `error`; an alert due is written by the one instance that
/// claims it.
pub fn record_error(
    alerts: &Arc<Mutex<AlertLog>>,
    shared: &dyn SharedState,
    error: &ChannelError,
    now: DateTime<Utc>,
) {
    let due = {
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        log.error_alert_due(
            &error.channel_id,
            &error.channel_name,
            error.class,
            &error.message,
            now,
        )
    };
    let Some(alert) = due else {
        return;
    };
    let claim = error_claim(&alert.alert_type, &alert.channel_id);
    let alerts = alerts.clone();
    let write = move || {
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = log.push(alert) {
            tracing::error!("cannot write a channel alert: {e}");
        }
    };
    let quiet = Duration::from_secs(QUIET_SECONDS.unsigned_abs());
    shared.once(claim, quiet, Box::new(write));
}

/// The claim of a channel error alert: one per type and channel, for the quiet hour.
fn error_claim(alert_type: &str, channel_id: &str) -> String {
    format!("alert:{alert_type}:{channel_id}")
}

/// The claim of a budget alert: one per type, budget (a channel id or `global`) and UTC day.
pub fn budget_claim(kind: AlertType, id: &str, day: NaiveDate) -> String {
    format!("alert:{}:{id}:{day}", kind.as_str())
}

/// The alerts of `channels` were cleared: give up their claims (error alerts, and today's
/// budget alerts), so their next alerts are written again.
pub fn release_claims<'a>(
    shared: &dyn SharedState,
    channels: impl IntoIterator<Item = &'a str>,
    today: NaiveDate,
) {
    let mut names = Vec::new();
    for id in channels {
        for kind in [
            AlertType::InvalidApiKey,
            AlertType::QuotaExhausted,
            AlertType::RepeatedErrors,
        ] {
            names.push(error_claim(kind.as_str(), id));
        }
        for kind in [AlertType::BudgetWarning, AlertType::BudgetExceeded] {
            names.push(budget_claim(kind, id, today));
        }
    }
    shared.release(names);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared_state::InProcess;

    #[test]
    fn in_process_the_rules_alone_decide() {
        let dir = tempfile::tempdir().expect("dir");
        let alerts = Arc::new(Mutex::new(AlertLog::empty(dir.path().join("alerts.jsonl"))));
        let error = ChannelError {
            channel_id: "groq".into(),
            channel_name: "Groq".into(),
            class: ErrorClass::InvalidApiKey,
            message: "Incorrect API key provided".into(),
        };
        let now = Utc::now();
        record_error(&alerts, &InProcess, &error, now);
        record_error(&alerts, &InProcess, &error, now);
        let log = alerts.lock().expect("lock");
        let report = log.recent(1, now);
        assert_eq!(report.total_alerts, 1, "the quiet hour holds");
        assert_eq!(report.alerts[0].alert_type, "invalid_api_key");
        assert_eq!(
            report.alerts[0].message,
            "API key rejected by the upstream: Incorrect API key provided"
        );
    }
}

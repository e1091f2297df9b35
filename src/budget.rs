//! Budgets (docs/http-api.md): `cost_control.global_daily_budget` and each channel's `daily_budget`,
//! per UTC day, computed from the usage aggregates (so spend survives restarts).
//!
//! - After every usage record (on the writer thread), spend is compared with each budget it
//!   counts toward: at `alert_threshold` of a budget a `budget_warning` alert is written, and
//!   at 100% a `budget_exceeded` alert; each at most once per budget per UTC day. The global
//!   budget's alerts use the channel id `global`.
//! - With `auto_disable_on_budget_exceeded`, routing skips paid candidates of a channel over
//!   its budget, and every paid candidate when the global budget is spent; free and local
//!   models still serve. When that leaves nothing, the client gets `429 budget_exceeded`.
//! - With a shared state (`state.redis_url`), spend is this instance's plus what the others
//!   published, and each alert is claimed, so it fires on one instance only.

use std::sync::{Arc, Mutex, RwLock};

use chrono::{NaiveDate, Utc};

use crate::catalog::CatalogEntry;
use crate::config::{Config, CostControl};
use crate::shared_state::spend::{channel_scope, SpendBoard};
use crate::shared_state::SharedState;
use crate::stats::aggregate::UsageAggregates;
use crate::stats::alerts::{AlertLog, AlertType, ChannelAlert};
use crate::usage::record::UsageRecord;

/// Today's budget position, computed once per request (only when budgets can block).
#[derive(Debug, Default)]
pub struct BudgetGate {
    global_spent: bool,
    spent_channels: Vec<String>,
}

impl BudgetGate {
    /// The gate for this request; blocks nothing unless `auto_disable_on_budget_exceeded`.
    /// `remote`: what other instances spent (empty without a shared state).
    pub fn new(aggregates: &RwLock<UsageAggregates>, remote: &SpendBoard, config: &Config) -> Self {
        let cost: &CostControl = &config.cost_control;
        if !cost.auto_disable_on_budget_exceeded {
            return Self::default();
        }
        let Ok(aggregates) = aggregates.read() else {
            return Self::default();
        };
        let today = Utc::now().date_naive();
        Self::from_aggregates(&aggregates, remote, config, today)
    }

    fn from_aggregates(
        aggregates: &UsageAggregates,
        remote: &SpendBoard,
        config: &Config,
        today: NaiveDate,
    ) -> Self {
        let global_spent = config.cost_control.global_daily_budget.is_some_and(|b| {
            aggregates.spend_on(today, None) + remote.remote(today, "global") >= b
        });
        let spent_channels = config
            .channels
            .iter()
            .filter(|c| {
                c.daily_budget.is_some_and(|b| {
                    let remote = remote.remote(today, &channel_scope(&c.id));
                    aggregates.spend_on(today, Some(&c.id)) + remote >= b
                })
            })
            .map(|c| c.id.clone())
            .collect();
        Self {
            global_spent,
            spent_channels,
        }
    }

    /// Whether this candidate must be skipped because a budget it would spend is exhausted.
    pub fn blocks(&self, entry: &CatalogEntry) -> bool {
        if entry.is_free || entry.is_local {
            return false;
        }
        self.global_spent || self.spent_channels.iter().any(|c| *c == entry.channel.id)
    }
}

/// After a record: write budget alerts that are due.
/// `shared`: other instances' spend, and the shared state that claims each alert.
pub fn check_after_record(
    config: &Config,
    aggregates: &RwLock<UsageAggregates>,
    alerts: &Arc<Mutex<AlertLog>>,
    shared: (&SpendBoard, &dyn SharedState),
    record: &UsageRecord,
) {
    if record.total_cost <= 0.0 {
        return;
    }
    let Some(today) = crate::usage::record::utc_date_of(&record.timestamp) else {
        return;
    };
    let (board, shared) = shared;
    let (global, channel) = match aggregates.read() {
        Ok(a) => (
            a.spend_on(today, None) + board.remote(today, "global"),
            a.spend_on(today, Some(&record.channel_id))
                + board.remote(today, &channel_scope(&record.channel_id)),
        ),
        Err(_) => return,
    };
    let mut due = Vec::new();
    if let Some(budget) = config.cost_control.global_daily_budget {
        due.extend(alert_due(
            "global",
            "all channels",
            global,
            budget,
            config.cost_control.alert_threshold,
        ));
    }
    if let Some(ch) = config.channel(&record.channel_id) {
        if let Some(budget) = ch.daily_budget {
            due.extend(alert_due(
                &ch.id,
                &ch.name,
                channel,
                budget,
                config.cost_control.alert_threshold,
            ));
        }
    }
    if due.is_empty() {
        return;
    }
    let log = alerts.lock().unwrap_or_else(|p| p.into_inner());
    let due: Vec<_> = due
        .into_iter()
        .filter(|(id, _, kind, _)| !already_today(&log, id, *kind, today))
        .collect();
    drop(log);
    for (id, name, kind, message) in due {
        let alerts = alerts.clone();
        let claim = crate::shared_state::alerts::budget_claim(kind, &id, today);
        let write = move || {
            let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
            if already_today(&log, &id, kind, today) {
                return;
            }
            let alert = ChannelAlert::new(&id, &name, kind, &message, None, Utc::now());
            if let Err(e) = log.push(alert) {
                tracing::error!("cannot write a budget alert: {e}");
            }
        };
        let two_days = std::time::Duration::from_secs(2 * 86_400);
        shared.once(claim, two_days, Box::new(write));
    }
}

fn alert_due(
    id: &str,
    name: &str,
    spent: f64,
    budget: f64,
    threshold: f64,
) -> Option<(String, String, AlertType, String)> {
    if spent >= budget {
        Some((
            id.into(),
            name.into(),
            AlertType::BudgetExceeded,
            format!("daily budget of {budget:.2} exceeded: {spent:.4} spent today"),
        ))
    } else if spent >= budget * threshold {
        Some((
            id.into(),
            name.into(),
            AlertType::BudgetWarning,
            format!(
                "{:.0}% of the daily budget of {budget:.2} spent ({spent:.4})",
                spent / budget * 100.0
            ),
        ))
    } else {
        None
    }
}

fn already_today(log: &AlertLog, id: &str, kind: AlertType, today: NaiveDate) -> bool {
    log.last_alert_at(id, kind)
        .is_some_and(|at| at.date_naive() == today)
}

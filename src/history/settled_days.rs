//! The settled days of the shared usage: a UTC day that ended more than [`SETTLE`] ago gets no
//! new records (a record is placed on the day its call started and is stored moments after
//! the call ends), so the PostgreSQL store reads such a day's records once and keeps its sums
//! here; a report then reads only the days still open. Pure bookkeeping: no I/O, no clock
//! (`now` is passed in).
//!
//! Rules kept here:
//! - Only settled days are kept, an empty one too (a day without calls is not read again).
//! - At most [`MAX_DAYS`] days; past it the oldest go first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

use crate::stats::aggregate::UsageAggregates;

/// How long after its end a day is taken as final.
pub const SETTLE: chrono::Duration = chrono::Duration::hours(1);
/// Days kept, at most (a year of reports and some).
pub const MAX_DAYS: usize = 400;

/// Sums of settled days.
#[derive(Debug, Default)]
pub struct SettledDays {
    days: Mutex<BTreeMap<NaiveDate, UsageAggregates>>,
}

/// What the kept days give for a range, and the settled days that must still be read.
#[derive(Debug, Default)]
pub struct Lookup {
    pub kept: UsageAggregates,
    pub missing: Vec<NaiveDate>,
}

impl SettledDays {
    /// The last settled day at `now` (the day before the one that ended less than
    /// [`SETTLE`] ago, or today's).
    pub fn last_settled(now: DateTime<Utc>) -> NaiveDate {
        let date = (now - SETTLE).date_naive();
        date.pred_opt().unwrap_or(date)
    }

    /// The sums of the kept days of `first..=last` merged, and the days not kept.
    pub fn lookup(&self, first: NaiveDate, last: NaiveDate) -> Lookup {
        let days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = Lookup::default();
        for day in first.iter_days().take_while(|d| *d <= last) {
            match days.get(&day) {
                Some(sums) => found.kept.merge(sums.clone()),
                None => found.missing.push(day),
            }
        }
        found
    }

    /// Keep the sums of a settled `day`.
    pub fn keep(&self, day: NaiveDate, sums: UsageAggregates) {
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        days.insert(day, sums);
        while days.len() > MAX_DAYS {
            days.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::record::UsageRecord;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn a_day_settles_an_hour_after_it_ends() {
        let at = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        assert_eq!(
            SettledDays::last_settled(at("2026-11-21T00:59:00Z")),
            date("2026-11-19")
        );
        assert_eq!(
            SettledDays::last_settled(at("2026-11-21T01:00:00Z")),
            date("2026-11-20")
        );
    }

    #[test]
    fn kept_days_are_merged_and_the_others_listed() {
        let settled = SettledDays::default();
        let mut sums = UsageAggregates::new();
        sums.add(&UsageRecord {
            timestamp: "2026-11-20T10:00:00.000Z".into(),
            total_tokens: 7,
            ..UsageRecord::default()
        });
        settled.keep(date("2026-11-20"), sums);
        settled.keep(date("2026-11-18"), UsageAggregates::new());
        let found = settled.lookup(date("2026-11-18"), date("2026-11-21"));
        assert_eq!(found.missing, vec![date("2026-11-19"), date("2026-11-21")]);
        let totals = found.kept.between(date("2026-11-18"), date("2026-11-21"));
        assert_eq!((totals.total.requests, totals.total.total_tokens), (1, 7));
        for n in 0..MAX_DAYS + 5 {
            settled.keep(
                date("2020-01-01") + chrono::Days::new(n as u64),
                UsageAggregates::new(),
            );
        }
        assert_eq!(settled.days.lock().map(|d| d.len()).unwrap_or(0), MAX_DAYS);
    }
}

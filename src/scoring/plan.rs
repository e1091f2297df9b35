//! The query step, one function for every caller (the proxy, `explain` over HTTP and on the
//! command line, `models QUERY`): parse the `model` string, resolve it against the catalog
//! with the route's needs, and rank what matched. Pure: live figures come in as a function.

use super::rank::{rank, LiveScores, Ranked};
use crate::catalog::{Catalog, CatalogEntry};
use crate::config::Strategy;
use crate::query::{parse_query, resolve, Dropped, Needs};

/// The ranked candidates of a query, and (when asked for) what matched but was dropped.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub ranked: Vec<Ranked>,
    pub dropped: Vec<Dropped>,
}

/// Why a query has no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The `model` string is not a valid query (a 400).
    BadQuery(String),
    /// Nothing matched; the message names what removed the last candidates (a 404).
    NoMatch(String),
}

/// Plan `query` for `needs` with `strategy`; `keep_dropped` records the matches that were
/// dropped, and why (explain wants them, a call does not pay for them).
pub fn plan(
    catalog: &Catalog,
    query: &str,
    needs: &Needs<'_>,
    strategy: &Strategy,
    live: &dyn Fn(&CatalogEntry) -> LiveScores,
    keep_dropped: bool,
) -> Result<Plan, PlanError> {
    let parsed = parse_query(query).map_err(|e| PlanError::BadQuery(e.message))?;
    let resolution = resolve(catalog, query, &parsed, needs, keep_dropped)
        .map_err(|e| PlanError::NoMatch(e.message))?;
    Ok(Plan {
        ranked: rank(catalog, &resolution.candidates, strategy, live),
        dropped: resolution.dropped,
    })
}

//! The gateway's own response headers, as constants. A `&str` name given to a `HeaderMap` is
//! parsed and checked on every insert or lookup (`HdrName::from_static`: about 1% of the
//! serving threads' samples at 64 connections); a constant `HeaderName` is built at compile
//! time. The headers' meanings are in docs/http-api.md.

use axum::http::HeaderName;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_ROUTER_ATTEMPTS: HeaderName = HeaderName::from_static("x-router-attempts");
pub const X_ROUTER_CHANNEL: HeaderName = HeaderName::from_static("x-router-channel");
pub const X_ROUTER_COST: HeaderName = HeaderName::from_static("x-router-cost");
pub const X_ROUTER_COST_CURRENCY: HeaderName = HeaderName::from_static("x-router-cost-currency");
pub const X_ROUTER_COST_KNOWN: HeaderName = HeaderName::from_static("x-router-cost-known");
pub const X_ROUTER_MODEL: HeaderName = HeaderName::from_static("x-router-model");
pub const X_ROUTER_RULE: HeaderName = HeaderName::from_static("x-router-rule");
pub const X_ROUTER_SCORE: HeaderName = HeaderName::from_static("x-router-score");
pub const X_ROUTER_STRATEGY: HeaderName = HeaderName::from_static("x-router-strategy");
pub const X_ROUTER_TIME: HeaderName = HeaderName::from_static("x-router-time");

//! The statistics layer: running usage aggregates, the stats API's report bodies, channel
//! alerts and log archiving (docs/http-api.md, docs/usage-records.md). Pure library code; HTTP handlers live elsewhere.

pub mod aggregate;
pub mod alerts;
pub mod archive;
pub mod from_logs;
pub mod latency;
pub mod params;
pub mod report;

//! Shared test support: a scriptable mock upstream and an in-process gateway harness.
#![expect(
    unused_imports,
    reason = "re-exports for the test modules; not every one is used"
)]

pub mod browser;
pub mod gateway;
pub mod mock;
pub mod usage_log;

pub use gateway::{write_config, TestGateway, TEST_PROVIDERS};
pub use mock::{MockUpstream, Recorded, Reply, StreamEnd};
pub mod catalog;

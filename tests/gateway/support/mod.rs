//! Shared test support: a scriptable mock upstream and an in-process gateway harness.
#![expect(
    unused_imports,
    reason = "re-exports for the test modules; not every one is used"
)]

pub mod anthropic_mock;
pub mod binary;
pub mod browser;
pub mod gateway;
pub mod mock;
pub mod postgres;
pub mod redis;
pub mod usage_log;

pub use anthropic_mock::{AnthropicMock, AnthropicReply};
pub use gateway::{write_config, write_config_as_is, TestGateway, TEST_PROVIDERS};
pub use mock::{MockUpstream, Recorded, Reply, StreamEnd};
pub mod catalog;

/// The gateway binary, without the `SAR_*` variables other tests set in this process (figment's
/// `Jail` sets them process-wide while a config test runs, and a child inherits them).
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_smart-ai-router"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SAR_") {
            command.env_remove(name);
        }
    }
    command
}

/// [`binary`] as a tokio command.
pub fn binary_async() -> tokio::process::Command {
    tokio::process::Command::from(binary())
}

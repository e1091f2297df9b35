//! What the command-line subcommands do, as library functions `main` calls.
//!
//! Each returns the process exit code and writes its report to the given writer, so tests can
//! run them without spawning a process. Nothing here parses arguments (that is `main`).

use std::io::Write;

use crate::config::{load_config, Config, ConfigSource};

/// `smart-ai-router check`: validate the config and print a summary. 0 when valid, 1 otherwise.
pub fn check(source: &ConfigSource, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match load_config(source) {
        Ok(config) => {
            let _ = write_summary(source, &config, out);
            0
        }
        Err(errors) => {
            let _ = writeln!(
                err,
                "configuration is invalid ({} problem{}):",
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" }
            );
            for error in &errors.0 {
                let _ = writeln!(err, "  {error}");
            }
            1
        }
    }
}

fn write_summary(
    source: &ConfigSource,
    config: &Config,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let enabled = config.enabled_channels().count();
    writeln!(
        out,
        "configuration is valid: {} and {}",
        source.router_path().display(),
        source.providers_path().display()
    )?;
    writeln!(
        out,
        "server: {}:{}   providers: {}   default strategy: {}   max attempts: {}",
        config.server.host,
        config.server.port,
        config.providers.len(),
        config.routing.default_strategy,
        config.routing.max_attempts
    )?;
    writeln!(
        out,
        "channels: {} enabled, {} disabled",
        enabled,
        config.channels.len() - enabled
    )?;
    let width = config
        .channels
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0);
    for channel in &config.channels {
        match &channel.disabled_reason {
            None => writeln!(
                out,
                "  enabled   {:width$}  {} {}{}",
                channel.id,
                channel.provider.key,
                channel.base_url,
                if channel.tags.is_empty() {
                    String::new()
                } else {
                    format!("  tags: {}", channel.tags.join(","))
                }
            )?,
            Some(reason) => writeln!(out, "  disabled  {:width$}  {reason}", channel.id)?,
        }
    }
    Ok(())
}

/// Log output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Install the tracing subscriber: `RUST_LOG` (default `info`) filters, stderr output.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

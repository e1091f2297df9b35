//! What the command-line subcommands do, as library functions `main` calls.
//!
//! Each returns the process exit code and writes its report to the given writer, so tests can
//! run them without spawning a process. Nothing here parses arguments (that is `main`).

use std::io::Write;

use crate::catalog::{Catalog, CatalogEntry, ModelKind};
use crate::config::{Config, ConfigSource};
use crate::query::Needs;
use crate::scoring::{plan, LiveScores, PlanError};
use crate::stats::aggregate::UsageAggregates;

/// `smart-ai-router check`: validate the config and print a summary. 0 when valid, 1 otherwise.
pub fn check(source: &ConfigSource, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match crate::query::load_config(source) {
        Ok(config) => {
            let _ = write_summary(source, &config, out);
            // Disabled channels are in the summary already.
            let others = config
                .warnings
                .iter()
                .filter(|w| !w.starts_with("channel "));
            for warning in others {
                let _ = writeln!(out, "warning: {warning}");
            }
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
                crate::config::url_without_credentials(&channel.base_url),
                if channel.tags.is_empty() {
                    String::new()
                } else {
                    format!("  tags: {}", channel.tags.join(","))
                }
            )?,
            Some(reason) => writeln!(out, "  disabled  {:width$}  {reason}", channel.id)?,
        }
    }
    if let Some(url) = &config.history.url {
        writeln!(
            out,
            "history: shared on PostgreSQL {} (requests and usage records)",
            crate::config::url_without_credentials(url.expose())
        )?;
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

/// Load the config or print its errors; `None` means exit 1.
fn config_or_report(source: &ConfigSource, err: &mut dyn Write) -> Option<Config> {
    match crate::query::load_config(source) {
        Ok(config) => Some(config),
        Err(errors) => {
            let _ = writeln!(err, "configuration is invalid:\n{errors}");
            None
        }
    }
}

/// The catalog as the gateway would start with it: cached discovery results, else
/// configured models (no network).
fn offline_catalog(config: &Config) -> Catalog {
    let lists = crate::discovery::cached_lists(config);
    Catalog::build(config, &lists)
}

fn fmt_params(entry: &CatalogEntry) -> String {
    match (entry.params_b, entry.active_params_b) {
        (Some(total), Some(active)) => format!("{total}B/{active}B"),
        (Some(total), None) => format!("{total}B"),
        _ => "-".into(),
    }
}

/// Context in the unit its figure was given in: `128000` is `128k` (decimal, as OpenAI states
/// it), `131072` is `128k` (binary), `1048576` is `1M`; other figures round to decimal k.
fn fmt_context(entry: &CatalogEntry) -> String {
    match entry.context_tokens {
        Some(c) if c >= 1_000_000 && c % 1_000_000 == 0 => format!("{}M", c / 1_000_000),
        Some(c) if c >= 1_048_576 && c % 1_048_576 == 0 => format!("{}M", c / 1_048_576),
        Some(c) if c >= 1000 && c % 1000 == 0 => format!("{}k", c / 1000),
        Some(c) if c >= 1024 && c % 1024 == 0 => format!("{}k", c / 1024),
        Some(c) if c >= 1000 => format!("{:.0}k", c as f64 / 1000.0),
        Some(c) => c.to_string(),
        None => "-".into(),
    }
}

fn fmt_price(entry: &CatalogEntry) -> String {
    match entry.price {
        Some(p) if p.is_free() => "free".into(),
        Some(p) => format!("{}/{} {}", p.input, p.output, entry.channel.currency),
        None => "?".into(),
    }
}

fn write_entries(out: &mut dyn Write, entries: &[&CatalogEntry]) -> std::io::Result<()> {
    let name_width = entries
        .iter()
        .map(|e| e.channel.id.len() + e.model_id.len() + 1)
        .max()
        .unwrap_or(5)
        .clamp(5, 70);
    writeln!(
        out,
        "{:name_width$}  {:>10}  {:>7}  {:>16}  tags",
        "model", "params", "context", "price per 1M"
    )?;
    for e in entries {
        let name = format!("{}/{}", e.channel.id, e.model_id);
        writeln!(
            out,
            "{name:name_width$}  {:>10}  {:>7}  {:>16}  {}",
            fmt_params(e),
            fmt_context(e),
            fmt_price(e),
            e.tags.join(",")
        )?;
    }
    Ok(())
}

/// `smart-ai-router models [QUERY]`: the catalog, or what a query matches in rank order.
pub fn models(
    source: &ConfigSource,
    query: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = config_or_report(source, err) else {
        return 1;
    };
    let catalog = offline_catalog(&config);
    let entries: Vec<&CatalogEntry> = match query {
        None => catalog.entries.iter().collect(),
        Some(q) => {
            let needs = Needs {
                kind: ModelKind::Chat,
                filters: &config.routing.model_filters,
                context_tokens: None,
            };
            let Some(strategy) = config
                .routing
                .strategies
                .get(&config.routing.default_strategy)
            else {
                let _ = writeln!(err, "the default strategy is not defined");
                return 1;
            };
            let neutral = |_: &CatalogEntry| LiveScores::NEUTRAL;
            match plan(&catalog, q, &needs, strategy, &neutral, false) {
                Ok(plan) => plan
                    .ranked
                    .iter()
                    .filter_map(|r| catalog.entry(r.entry))
                    .collect(),
                Err(PlanError::BadQuery(message) | PlanError::NoMatch(message)) => {
                    let _ = writeln!(err, "{message}");
                    return 1;
                }
            }
        }
    };
    let _ = write_entries(out, &entries);
    let _ = writeln!(
        out,
        "{} entr{}",
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" }
    );
    if catalog.is_empty() {
        let _ = writeln!(out, "{}", catalog.empty_reason());
    }
    0
}

/// `smart-ai-router explain QUERY`: the ranking with every sub-score, and what was dropped.
pub fn explain(
    source: &ConfigSource,
    query: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = config_or_report(source, err) else {
        return 1;
    };
    let catalog = offline_catalog(&config);
    let strategy = &config.routing.strategies[&config.routing.default_strategy];
    let health = crate::health::ChannelHealth::new();
    let limits = crate::limits::RateWindows::new();
    let explained = crate::explain::explain(
        &config,
        &catalog,
        &health,
        &limits,
        query,
        strategy,
        ModelKind::Chat,
    );
    let value = match explained {
        Ok(v) => v,
        Err(
            crate::explain::ExplainError::BadQuery(m) | crate::explain::ExplainError::NoMatch(m),
        ) => {
            let _ = writeln!(err, "{m}");
            return 1;
        }
    };
    let _ = write_explanation(&value, out);
    0
}

fn write_explanation(value: &serde_json::Value, out: &mut dyn Write) -> std::io::Result<()> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let weights: Vec<String> = value["weights"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, weight)| format!("{} {weight}", field.trim_end_matches("_score")))
        .collect();
    writeln!(
        out,
        "query {}  strategy {}  weights: {}",
        text(&value["query"]),
        text(&value["strategy"]),
        weights.join(", ")
    )?;
    let fields: Vec<&str> = crate::scoring::SubScore::ALL
        .iter()
        .map(|s| s.field())
        .collect();
    let short: String = fields
        .iter()
        .map(|f| match f.trim_end_matches("_score") {
            "parameter" => format!("{:>8}", "params"),
            "reliability" => format!("{:>8}", "reliab"),
            name => format!("{name:>8}"),
        })
        .collect();
    writeln!(
        out,
        "{:>4}  {:<55} {:>6}{short}",
        "rank", "channel/model", "score"
    )?;
    for c in value["candidates"].as_array().into_iter().flatten() {
        let name = format!("{}/{}", text(&c["channel"]), text(&c["model"]));
        let subs: String = fields
            .iter()
            .map(|f| {
                format!(
                    "{:>8.3}",
                    c["sub_scores"][f]["value"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        writeln!(
            out,
            "{:>4}  {:<55} {:>6.3}{subs}",
            c["rank"].as_u64().unwrap_or(0),
            name,
            c["score"].as_f64().unwrap_or(0.0)
        )?;
    }
    let dropped = value["dropped"].as_array().map_or(0, Vec::len);
    if dropped > 0 {
        writeln!(out, "dropped:")?;
        for d in value["dropped"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "  {}/{}: {}",
                text(&d["channel"]),
                text(&d["model"]),
                text(&d["reason"])
            )?;
        }
    }
    Ok(())
}

/// `smart-ai-router stats [--date YYYY-MM-DD | --days N]`: a usage summary from the logs.
pub fn stats(
    source: &ConfigSource,
    date: Option<&str>,
    days: Option<u32>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let today = chrono::Utc::now().date_naive();
    let (first, last) = match (date, days) {
        (Some(text), _) => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => (day, day),
            Err(_) => {
                let _ = writeln!(err, "--date must be a day as YYYY-MM-DD, got {text:?}");
                return 1;
            }
        },
        (None, Some(0)) => {
            let _ = writeln!(err, "--days must be at least 1");
            return 1;
        }
        (None, Some(n)) => (today - chrono::Days::new(u64::from(n) - 1), today),
        (None, None) => (today, today),
    };
    let Some(config) = config_or_report(source, err) else {
        return 1;
    };
    let (aggregates, report) = match UsageAggregates::rebuild_from_dir(&config.usage.dir) {
        Ok(rebuilt) => rebuilt,
        Err(e) => {
            let _ = writeln!(
                err,
                "cannot read usage logs in {}: {e}",
                config.usage.dir.display()
            );
            return 1;
        }
    };
    let day = crate::stats::report::range(&aggregates, first, last);
    let span = if first == last {
        format!("on {first}")
    } else {
        format!("from {first} to {last}")
    };
    let _ = writeln!(
        out,
        "usage {span} (UTC), from {} ({} records read, {} corrupt lines skipped)",
        config.usage.dir.display(),
        report.records,
        report.corrupt_lines
    );
    let _ = writeln!(
        out,
        "requests {} (ok {}, failed {})  tokens {} in / {} out ({} cached)  cost {:.6}  avg {:.0} ms  p95 {} ms",
        day.total_requests,
        day.successful_requests,
        day.failed_requests,
        day.total_input_tokens,
        day.total_output_tokens,
        day.total_cached_tokens,
        day.total_cost,
        day.avg_response_time_ms,
        day.p95_response_time_ms
    );
    if day.unrouted_requests > 0 {
        let _ = writeln!(
            out,
            "  {} request(s) reached no channel",
            day.unrouted_requests
        );
    }
    for (model, f) in &day.models {
        let _ = writeln!(
            out,
            "  {model:<50} {:>6} req  {:>10} tok  {:>12.6}",
            f.requests, f.tokens, f.cost
        );
    }
    if !config.usage.dir.is_dir() {
        let _ = writeln!(
            err,
            "note: {} does not exist: no usage log was written there yet",
            config.usage.dir.display()
        );
    }
    // The figures above leave these files out: say so, and fail.
    for (path, error) in &report.unreadable_files {
        let _ = writeln!(
            err,
            "cannot read {}: {error}; its records are not counted above",
            path.display()
        );
    }
    i32::from(!report.unreadable_files.is_empty())
}

/// `smart-ai-router migrate --from OLD --to NEW`: the original's config directory, rewritten.
pub fn migrate(
    from: &std::path::Path,
    to: &std::path::Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let report = match crate::config::migrate::migrate(from, to) {
        Ok(report) => report,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    for path in &report.written {
        let _ = writeln!(out, "wrote {}", path.display());
    }
    if report.keys_moved > 0 {
        let _ = writeln!(
            out,
            "{} API key(s) moved to {} and referenced as ${{VAR}}",
            report.keys_moved,
            crate::config::envfile::FILE_NAME
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "  {note}");
    }
    check(&ConfigSource::new(to), out, err)
}

/// `smart-ai-router import one-api --db PATH --config-dir DIR`.
pub fn import_one_api(
    db: &std::path::Path,
    target: &ConfigSource,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let report = match crate::import::one_api::import(db, &target.dir) {
        Ok(report) => report,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let _ = writeln!(
        out,
        "imported {} channel(s) from a {} database ({} disabled there), {} key(s) in {}",
        report.channels,
        report.flavour,
        report.disabled,
        report.keys,
        crate::config::envfile::FILE_NAME
    );
    for note in &report.notes {
        let _ = writeln!(out, "  {note}");
    }
    check(target, out, err)
}

/// The request history database is not a log file: say where it is and how it is trimmed.
fn history_note(history: &crate::config::HistoryConfig, err: &mut dyn Write) {
    if history.enabled {
        let place = match &history.url {
            Some(url) => crate::config::url_without_credentials(url.expose()),
            None => history.path.display().to_string(),
        };
        let _ = writeln!(
            err,
            "note: the request history {place} is not archived; it deletes rows older than {} \
             days itself (history.retention_days; 0 keeps everything)",
            history.retention_days
        );
    }
}

/// `smart-ai-router logs archive --days-to-keep N`.
pub fn archive(
    source: &ConfigSource,
    days_to_keep: u32,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = config_or_report(source, err) else {
        return 1;
    };
    let today = chrono::Utc::now().date_naive();
    match crate::stats::archive::archive_logs(&config.usage.dir, days_to_keep, today) {
        Ok(report) => {
            for path in &report.archived {
                let _ = writeln!(out, "archived {}", path.display());
            }
            for (path, e) in &report.failed {
                let _ = writeln!(err, "could not archive {}: {e}", path.display());
            }
            let _ = writeln!(
                out,
                "{} file(s) archived ({} bytes -> {} bytes), {} kept",
                report.archived.len(),
                report.bytes_in,
                report.bytes_out,
                report.kept
            );
            history_note(&config.history, err);
            i32::from(!report.failed.is_empty())
        }
        Err(e) => {
            let _ = writeln!(err, "cannot archive {}: {e}", config.usage.dir.display());
            1
        }
    }
}

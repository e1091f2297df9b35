//! Starting and stopping the gateway: load the config, bind, start the background tasks, serve
//! until told to stop, then drain. Used by `main` and by the integration tests alike.
//!
//! Every background task is spawned through one `TaskTracker` that shutdown waits for; no task
//! is detached. Requests are served on `server.workers` threads of their own
//! (`server::listen`); the caller's runtime runs only the background tasks (discovery, reload,
//! the snapshot writer).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use arc_swap::{ArcSwap, ArcSwapOption};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{ChannelModelList, ModelSource};
use crate::config::{Config, ConfigErrors, ConfigSource};
use crate::discovery::cache::{CachedModels, ChannelCache};
use crate::health::ChannelHealth;
use crate::metrics::Metrics;
use crate::runtime::snapshot_writer::{self, initial_snapshot};
use crate::runtime::{discovery, reload};
use crate::server::{build_router, listen};
use crate::state::rebuilder::Rebuilder;
use crate::state::AppState;
use crate::stats::aggregate::UsageAggregates;
use crate::stats::alerts::{AlertLog, AlertType, ChannelAlert};
use crate::upstream::answer_budget::AnswerBudget;
use crate::usage::record::UsageRecord;
use crate::usage::writer::UsageWriter;

/// What `serve` was asked for on the command line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub source: ConfigSource,
    /// Overrides `server.host` when set.
    pub host: Option<String>,
    /// Overrides `server.port` when set.
    pub port: Option<u16>,
}

/// Why the gateway could not start.
#[derive(Debug)]
pub enum StartError {
    Config(ConfigErrors),
    Bind {
        addr: String,
        source: std::io::Error,
    },
    Workers(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(errors) => write!(f, "configuration is invalid:\n{errors}"),
            StartError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::Workers(e) => write!(f, "cannot start the serving threads: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(errors) => Some(errors),
            StartError::Bind { source, .. } | StartError::Workers(source) => Some(source),
        }
    }
}

impl From<ConfigErrors> for StartError {
    fn from(errors: ConfigErrors) -> Self {
        StartError::Config(errors)
    }
}

/// A gateway that is serving.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub rebuilder: Rebuilder,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl RunningGateway {
    /// A token that stops the gateway when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stop accepting, finish in-flight requests, stop background tasks and wait for them.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.state.usage.shutdown().await;
        if let Some(history) = &self.state.history {
            history.shutdown().await;
        }
    }

    /// Wait until something cancels the shutdown token, then drain.
    pub async fn wait(self) {
        self.shutdown.cancelled().await;
        self.shutdown().await;
    }
}

/// Load the config and start serving.
pub async fn start(options: ServeOptions) -> Result<RunningGateway, StartError> {
    let mut config = crate::query::load_config(&options.source)?;
    if let Some(host) = options.host {
        config.server.host = host;
    }
    if let Some(port) = options.port {
        config.server.port = port;
    }
    start_with_config(config, options.source).await
}

/// Start serving an already validated config.
pub async fn start_with_config(
    config: Config,
    source: ConfigSource,
) -> Result<RunningGateway, StartError> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let bind_error = |source| StartError::Bind {
        addr: addr.clone(),
        source,
    };
    let listeners = listen::bind(&addr, config.server.workers)
        .await
        .map_err(bind_error)?;
    let local = match listeners.first() {
        Some(listener) => listener.local_addr().map_err(bind_error)?,
        None => return Err(bind_error(std::io::ErrorKind::AddrNotAvailable.into())),
    };
    let workers = listen::prepare(listeners).map_err(StartError::Workers)?;
    let config = Arc::new(config);
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let cached = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            ChannelCache::new(&config.server.cache_dir).load_all(config.enabled_channels())
        })
        .await
        .unwrap_or_default()
    };
    let lists: HashMap<String, Arc<ChannelModelList>> = cached
        .iter()
        .map(|(id, c)| (id.clone(), Arc::new(c.list.clone())))
        .collect();
    let state = build_state(config.clone(), source, &lists).await;
    crate::runtime::shared_state::connect(&state, &tasks, shutdown.clone());
    record_cached(&state, &cached);
    let rebuilder = snapshot_writer::spawn(state.clone(), lists, &tasks, shutdown.clone());
    let _ = state.rebuilder.set(rebuilder.clone());
    discovery::spawn_periodic(state.clone(), rebuilder.clone(), &tasks, shutdown.clone());
    reload::spawn_watcher(state.clone(), rebuilder.clone(), &tasks, shutdown.clone());

    let router = build_router(state.clone()).merge(crate::ui::router(state.clone()));
    let count = workers.len();
    let limits = config.server.connections;
    let metrics = state.metrics.clone();
    if let Err(e) = listen::spawn(
        workers,
        router,
        limits,
        config.server.busy_poll,
        metrics,
        &tasks,
        &shutdown,
    ) {
        shutdown.cancel();
        return Err(StartError::Workers(e));
    }
    tracing::info!(%local, workers = count, "smart-ai-router listening");
    Ok(RunningGateway {
        addr: local,
        state,
        rebuilder,
        shutdown,
        tasks,
    })
}

/// Discovery status of channels served from the cache at start.
fn record_cached(state: &AppState, cached: &[(String, CachedModels)]) {
    let mut statuses = state.discovery.lock().unwrap_or_else(|p| p.into_inner());
    for (id, c) in cached {
        let status = statuses.entry(id.clone()).or_default();
        status.last_success = Some(c.fetched_at);
        status.models = c.list.models.len();
        status.source = Some(ModelSource::Cache.as_str());
    }
}

/// A `usage_log_write_failed` alert (channel `gateway`) when the usage log starts failing;
/// kept in memory when the alert file fails too.
fn raise_alert_when_usage_log_fails(usage: &UsageWriter, alerts: &Arc<Mutex<AlertLog>>) {
    let alerts = alerts.clone();
    usage.on_failing(Box::new(move |message| {
        let alert = ChannelAlert::new(
            "gateway",
            "usage log",
            AlertType::UsageLogWrite,
            message,
            None,
            chrono::Utc::now(),
        );
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = log.push(alert) {
            tracing::debug!("the usage-log alert is kept in memory only: {e}");
        }
    }));
}

/// Everything the handlers share, with usage aggregates rebuilt from the logs on disk.
async fn build_state(
    config: Arc<Config>,
    source: ConfigSource,
    lists: &HashMap<String, Arc<ChannelModelList>>,
) -> Arc<AppState> {
    let usage_dir = config.usage.dir.clone();
    let rebuilt = {
        let dir = usage_dir.clone();
        tokio::task::spawn_blocking(move || UsageAggregates::rebuild_from_dir(&dir)).await
    };
    let mut corrupt_usage_lines = 0;
    let aggregates = match rebuilt {
        Ok(Ok((aggregates, report))) => {
            if report.corrupt_lines > 0 {
                tracing::warn!(
                    corrupt = report.corrupt_lines,
                    "usage logs: corrupt lines skipped"
                );
            }
            corrupt_usage_lines = report.corrupt_lines;
            aggregates
        }
        Ok(Err(e)) => {
            if usage_dir.exists() {
                tracing::warn!(dir = %usage_dir.display(), "cannot read usage logs: {e}; stats start empty");
            }
            UsageAggregates::new()
        }
        Err(e) => {
            tracing::error!("usage rebuild failed: {e}; stats start empty");
            UsageAggregates::new()
        }
    };
    let aggregates = Arc::new(RwLock::new(aggregates));
    let metrics = Arc::new(Metrics::default());
    let limits = Arc::new(crate::limits::RateWindows::new());
    let shared = Arc::new(crate::shared_state::SharedHandle::default());
    let spend_board = Arc::new(crate::shared_state::spend::SpendBoard::default());
    let alerts_path = usage_dir.join("channel_alerts.jsonl");
    let alerts = AlertLog::open(&alerts_path).unwrap_or_else(|e| {
        tracing::warn!(path = %alerts_path.display(), "cannot read channel alerts: {e}");
        AlertLog::empty(&alerts_path)
    });
    let alerts = Arc::new(Mutex::new(alerts));
    let snapshot = Arc::new(ArcSwap::from_pointee(initial_snapshot(
        config.clone(),
        lists,
    )));
    // The writer's observer shares what it updates and reads; it never reaches `AppState`.
    let observer = {
        let (aggregates, alerts) = (aggregates.clone(), alerts.clone());
        let (metrics, snapshot) = (metrics.clone(), snapshot.clone());
        let (limits, shared, board) = (limits.clone(), shared.clone(), spend_board.clone());
        Box::new(move |record: &UsageRecord| {
            if let Ok(mut a) = aggregates.write() {
                a.add(record);
            }
            crate::limits::client_key::count_tokens(&limits, record);
            let config = &snapshot.load().config;
            let shared_budget = (&*board, shared.get());
            crate::budget::check_after_record(config, &aggregates, &alerts, shared_budget, record);
            crate::shared_state::spend::stage_after_record(
                &aggregates,
                &board,
                shared.get(),
                record,
            );
            if let Some(key) = &record.key_name {
                metrics.key_usage(key, record.total_tokens, record.total_cost);
            }
            if !record.channel_id.is_empty() {
                metrics.usage(
                    &record.channel_id,
                    &record.model,
                    record.input_tokens,
                    record.output_tokens,
                    record.cached_tokens,
                    record.total_cost,
                );
            }
        })
    };
    let writer_dir = config.usage.enabled.then(|| usage_dir.clone());
    let usage = UsageWriter::start(writer_dir, config.usage.queue_capacity, observer);
    if let Err(e) = crate::usage::logfiles::check_writable(&usage_dir) {
        tracing::warn!(
            dir = %usage_dir.display(),
            "the usage log directory is not writable ({e}); serving anyway: records wait in memory and /health is degraded until one is written"
        );
        if config.usage.enabled {
            usage.failing_from_start(format!(
                "cannot write the usage log in {}: {e}",
                usage_dir.display()
            ));
        }
    }
    raise_alert_when_usage_log_fails(&usage, &alerts);
    let answer_budget = AnswerBudget::new(config.server.max_buffered_answer_bytes);
    let (history, history_error) = crate::history::start_from_config(&config.history).await;
    if let Some(history) = &history {
        history.known_secrets().set_from(&config);
        usage.send_finished_to(history.clone());
    }
    Arc::new(AppState {
        snapshot,
        source,
        started_at: std::time::Instant::now(),
        config_error: ArcSwapOption::empty(),
        health: ChannelHealth::new(),
        usage,
        aggregates,
        corrupt_usage_lines,
        alerts,
        discovery: Mutex::new(HashMap::new()),
        metrics,
        history,
        history_error,
        rebuilder: OnceLock::new(),
        limits,
        key_ring: ArcSwapOption::empty(),
        shared,
        spend_board,
        answer_budget,
    })
}

//! Starting and stopping the gateway: load the config, bind, start the background tasks, serve
//! until told to stop, then drain. Used by `main` and by the integration tests alike.
//!
//! Every background task is spawned through one `TaskTracker` that shutdown waits for; no task
//! is detached. TCP_NODELAY is set on every accepted connection (without it, one request at a
//! time pays ~40 ms of delayed-ACK latency).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{load_config, Config, ConfigErrors, ConfigSource};
use crate::server::build_router;
use crate::state::AppState;

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
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration is invalid:\n{0}")]
    Config(#[from] ConfigErrors),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// A gateway that is serving.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
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
    }

    /// Wait until something cancels the shutdown token, then drain.
    pub async fn wait(self) {
        self.shutdown.cancelled().await;
        self.shutdown().await;
    }
}

/// Load the config and start serving.
pub async fn start(options: ServeOptions) -> Result<RunningGateway, StartError> {
    let mut config = load_config(&options.source)?;
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
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StartError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let state = Arc::new(AppState::new(config, source));
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();

    let router = build_router(state.clone());
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let stop = shutdown.clone();
    tasks.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!("server stopped with an error: {e}");
        }
    });
    tracing::info!(%local, "smart-ai-router listening");
    Ok(RunningGateway {
        addr: local,
        state,
        shutdown,
        tasks,
    })
}

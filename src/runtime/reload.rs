//! Live reload (docs/discovery.md): a change to `router_config.yaml` or `providers.yaml` (watched with
//! `notify`, debounced), or `SIGHUP`, loads and validates the config again. A valid one is
//! swapped in through the rebuild task (in-flight requests finish on the old snapshot) and
//! discovery runs for the channels that are new or whose provider, base URL or key changed.
//! An invalid one is rejected: the error is logged and shown in `/health` (`config_error`),
//! and the running config keeps serving. Host and port are bound at start; a change to them
//! takes effect on restart (logged), and so do the connection limits and the answer budget.
//!
//! Guards (a reload must never open the door):
//! - an empty or comment-only file is rejected (`config::load`), so a file caught between
//!   truncate and write (`>` redirection, `cp`, editors that save in place) is never applied;
//! - before loading, the files must [`settle`]: read twice [`SETTLE`] apart with the same
//!   content (up to [`SETTLE_TRIES`] times), so a write in progress is waited out;
//! - a reload that would turn `auth.enabled` from true to false is refused unless the new file
//!   says `auth.allow_disable_on_reload: true` (shown in `/health` like any rejected reload).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::runtime::discovery::discover;
use crate::state::rebuilder::{Change, Rebuilder};
use crate::state::AppState;

/// How long file events are gathered before one reload.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReloadOutcome {
    Applied {
        generation: u64,
        rediscovered: Vec<String>,
    },
    Rejected(String),
}

/// How long the config files must stay unchanged before a reload reads them.
pub const SETTLE: Duration = Duration::from_millis(100);
/// Reads before a reload gives up waiting for the files to settle and loads what is there.
pub const SETTLE_TRIES: usize = 20;

/// Wait until both config files read the same twice in a row, [`SETTLE`] apart.
pub async fn settle(paths: &[PathBuf]) {
    let mut before = read_files(paths).await;
    for _ in 0..SETTLE_TRIES {
        tokio::time::sleep(SETTLE).await;
        let now = read_files(paths).await;
        if now == before {
            return;
        }
        before = now;
    }
    tracing::warn!("the config files kept changing; loading them as they are now");
}

/// Each file's bytes (`None`: unreadable), read off the serving threads and bounded
/// ([`crate::config::file`]): a config path may name anything.
async fn read_files(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || {
        paths
            .iter()
            .map(|p| crate::config::file::read_bytes(p).ok())
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// The request-history settings a reload changed that only a restart applies: the store and
/// its writer are set up at start. (`capture_bodies`, and turning the history off, apply to
/// the next call.) `None` when there is none.
fn history_restart_only(
    old: &crate::config::HistoryConfig,
    new: &crate::config::HistoryConfig,
) -> Option<String> {
    let changed: Vec<&str> = [
        ("history.enabled", !old.enabled && new.enabled),
        ("history.path", old.path != new.path),
        ("history.url", old.url != new.url),
        (
            "history.max_body_bytes",
            old.max_body_bytes != new.max_body_bytes,
        ),
        (
            "history.retention_days",
            old.retention_days != new.retention_days,
        ),
        ("history.spool_max_mb", old.spool_max_mb != new.spool_max_mb),
        (
            "history.search_bodies",
            old.search_bodies != new.search_bodies,
        ),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect();
    (!changed.is_empty()).then(|| changed.join(", "))
}

/// Load the config again and apply it (or record why not).
pub async fn reload(state: &Arc<AppState>, rebuilder: &Rebuilder) -> ReloadOutcome {
    let source = state.source.clone();
    settle(&[source.router_path(), source.providers_path()]).await;
    let loaded = tokio::task::spawn_blocking(move || crate::query::load_config(&source)).await;
    let new = match loaded {
        Ok(Ok(config)) => config,
        Ok(Err(errors)) => return reject(state, errors.to_string()),
        Err(e) => return reject(state, format!("reload task failed: {e}")),
    };
    let old = state.snapshot().config.clone();
    if old.auth.enabled && !new.auth.enabled && !new.auth.allow_disable_on_reload {
        return reject(
            state,
            format!(
                "{}: auth.enabled: turning authentication off is refused on reload (set auth.allow_disable_on_reload: true to allow it, or restart)",
                state.source.router_path().display()
            ),
        );
    }
    let mut new = new;
    // The listener is bound once; keep what is actually serving. Warn only when the file's
    // own values changed (not because --host/--port overrode them at start).
    if new.server.as_written != old.server.as_written {
        tracing::warn!("server.host/port/workers changed: takes effect on restart");
    }
    if new.server.connections != old.server.connections
        || new.server.max_buffered_answer_bytes != old.server.max_buffered_answer_bytes
    {
        tracing::warn!(
            "server connection limits or max_buffered_answer_bytes changed: take effect on restart"
        );
        new.server.connections = old.server.connections;
        new.server.max_buffered_answer_bytes = old.server.max_buffered_answer_bytes;
    }
    if let Some(changed) = history_restart_only(&old.history, &new.history) {
        tracing::warn!("{changed} changed: takes effect on restart");
    }
    new.server.host = old.server.host.clone();
    new.server.port = old.server.port;
    new.server.workers = old.server.workers;
    for warning in &new.warnings {
        tracing::warn!("{warning}");
    }
    let rediscover = channels_to_discover(&old, &new);
    let new = Arc::new(new);
    if let Some(history) = &state.history {
        history.known_secrets().set_from(&new);
    }
    let generation = rebuilder
        .apply(Change::Config(new.clone()))
        .await
        .unwrap_or(0);
    state.config_error.store(None);
    tracing::info!(generation, rediscover = ?rediscover, "configuration reloaded");
    if new.discovery.enabled && !rediscover.is_empty() {
        discover(state, rebuilder, Some(&rediscover)).await;
    }
    ReloadOutcome::Applied {
        generation,
        rediscovered: rediscover,
    }
}

fn reject(state: &AppState, message: String) -> ReloadOutcome {
    tracing::error!("configuration change rejected; the running config keeps serving:\n{message}");
    state.config_error.store(Some(Arc::new(message.clone())));
    ReloadOutcome::Rejected(message)
}

/// Enabled channels that are new, newly enabled, or whose provider/base URL/key changed.
pub fn channels_to_discover(old: &Config, new: &Config) -> Vec<String> {
    new.enabled_channels()
        .filter(|c| match old.channel(&c.id) {
            Some(before) => {
                !before.enabled || before.discovery_identity() != c.discovery_identity()
            }
            None => true,
        })
        .map(|c| c.id.clone())
        .collect()
}

/// Watch the config files and SIGHUP; reload on change until shutdown.
pub fn spawn_watcher(
    state: Arc<AppState>,
    rebuilder: Rebuilder,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<()>(16);
    let files: Vec<PathBuf> = vec![state.source.router_path(), state.source.providers_path()];
    let dir = state.source.dir.clone();
    let names: Vec<std::ffi::OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_os_string()))
        .collect();
    let notify_tx = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.iter().any(|x| x == n)));
            if ours && !event.kind.is_access() {
                let _ = notify_tx.try_send(());
            }
        }
    });
    let watcher = match watcher {
        Ok(mut w) => match w.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot watch the config dir ({e}); reload with SIGHUP");
                None
            }
        },
        Err(e) => {
            tracing::warn!("cannot start the config watcher ({e}); reload with SIGHUP");
            None
        }
    };
    // Registered here, not inside the task: a SIGHUP right after start must find a handler
    // (the default action would end the process).
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            let hup_tx = tx.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = hup.recv() => { let _ = hup_tx.send(()).await; }
                        _ = stop.cancelled() => return,
                    }
                }
            });
        }
        Err(e) => tracing::warn!("cannot listen for SIGHUP ({e}); reload by editing the files"),
    }
    tasks.spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                got = rx.recv() => if got.is_none() { return },
                _ = shutdown.cancelled() => return,
            }
            // Debounce: editors write in several steps.
            tokio::time::sleep(DEBOUNCE).await;
            while rx.try_recv().is_ok() {}
            reload(&state, &rebuilder).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::history_restart_only;
    use crate::config::{HistoryConfig, Secret};

    fn history() -> HistoryConfig {
        HistoryConfig {
            enabled: true,
            path: "data/history.db".into(),
            capture_bodies: true,
            search_bodies: true,
            max_body_bytes: 65_536,
            retention_days: 30,
            spool_max_mb: 1024,
            url: None,
        }
    }

    #[test]
    fn history_settings_applied_at_start_are_named_when_a_reload_changes_them() {
        let old = history();
        assert_eq!(history_restart_only(&old, &history()), None);
        // Per-call settings, and turning the history off, need no restart.
        let per_call = HistoryConfig {
            capture_bodies: false,
            enabled: false,
            ..history()
        };
        assert_eq!(history_restart_only(&old, &per_call), None);
        let changed = HistoryConfig {
            search_bodies: false,
            retention_days: 7,
            url: Some(Secret::new("postgres://u:p@h/db")),
            ..history()
        };
        assert_eq!(
            history_restart_only(&old, &changed).as_deref(),
            Some("history.url, history.retention_days, history.search_bodies")
        );
        let off = HistoryConfig {
            enabled: false,
            ..history()
        };
        assert_eq!(
            history_restart_only(&off, &history()).as_deref(),
            Some("history.enabled")
        );
    }
}

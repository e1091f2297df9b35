//! The one writer of the snapshot: discovery results and config reloads arrive here as
//! messages; this task prepares a new catalog (fallible work, off the async threads) and then
//! swaps config + catalog in one store (STYLE 13).
//!
//! It owns each channel's model list. On a config change, a channel keeps its list when its
//! provider, base URL and key are unchanged; otherwise the list is dropped (the channel serves
//! its configured models until discovery answers). Messages that arrive together are applied
//! together and cost one rebuild. A request in flight keeps the snapshot it loaded.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{Catalog, ChannelModelList};
use crate::config::{Config, Secret};
use crate::state::rebuilder::{Change, Message, Rebuilder};
use crate::state::{AppState, Snapshot};

/// Build the first snapshot (synchronously, before serving).
pub fn initial_snapshot(
    config: Arc<Config>,
    lists: &HashMap<String, Arc<ChannelModelList>>,
) -> Snapshot {
    let catalog = Catalog::build(&config, lists);
    let generated_token = api_token(&config, None);
    Snapshot {
        config,
        catalog: Arc::new(catalog),
        generation: 1,
        generated_token,
    }
}

/// With `auth.enabled` and no `api_token`, the `sar-` token: kept from the previous snapshot,
/// else loaded from `<cache_dir>/api_token`, else generated there (and printed once).
fn api_token(config: &Config, previous: Option<Arc<Secret>>) -> Option<Arc<Secret>> {
    if !config.auth.enabled || config.auth.api_token.is_some() {
        return None;
    }
    if previous.is_some() {
        return previous;
    }
    match super::token::load_or_generate_token(&config.server.cache_dir) {
        Ok((token, created)) => {
            let path = config.server.cache_dir.join("api_token");
            if created {
                println!(
                    "Generated API token (saved to {}): {}",
                    path.display(),
                    token.expose()
                );
            } else {
                tracing::info!(path = %path.display(), "using the generated API token saved earlier");
            }
            Some(Arc::new(token))
        }
        Err(e) => {
            tracing::error!(
                "auth is enabled without auth.api_token and no token could be generated ({e}); every /v1 request will be refused"
            );
            None
        }
    }
}

/// Start the rebuild task.
pub fn spawn(
    state: Arc<AppState>,
    lists: HashMap<String, Arc<ChannelModelList>>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) -> Rebuilder {
    let (tx, rx) = mpsc::channel(256);
    tasks.spawn(run(state, lists, rx, shutdown));
    Rebuilder::new(tx)
}

async fn run(
    state: Arc<AppState>,
    mut lists: HashMap<String, Arc<ChannelModelList>>,
    mut rx: mpsc::Receiver<Message>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::new();
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut batch, 256) => n,
            _ = shutdown.cancelled() => 0,
        };
        if received == 0 {
            return;
        }
        let current = state.snapshot();
        let mut config = current.config.clone();
        let mut waiting = Vec::new();
        for message in batch.drain(..) {
            match message.change {
                Change::Config(new) => {
                    retain_unchanged(&mut lists, &config, &new);
                    config = new;
                }
                Change::Models { channel_id, list } => {
                    if config.channel(&channel_id).is_some() {
                        lists.insert(channel_id, list);
                    }
                }
            }
            waiting.extend(message.done);
        }
        let for_build = (config.clone(), lists.clone());
        let built =
            tokio::task::spawn_blocking(move || Catalog::build(&for_build.0, &for_build.1)).await;
        let catalog = match built {
            Ok(catalog) => catalog,
            Err(e) => {
                tracing::error!("catalog rebuild failed: {e}; the previous catalog keeps serving");
                continue;
            }
        };
        let generation = current.generation + 1;
        let generated_token = api_token(&config, current.generated_token.clone());
        state.snapshot.store(Arc::new(Snapshot {
            config,
            catalog: Arc::new(catalog),
            generation,
            generated_token,
        }));
        tracing::debug!(generation, "snapshot swapped");
        for done in waiting {
            let _ = done.send(generation);
        }
    }
}

/// Keep the lists of channels whose provider, base URL and key did not change.
fn retain_unchanged(
    lists: &mut HashMap<String, Arc<ChannelModelList>>,
    old: &Config,
    new: &Config,
) {
    lists.retain(|id, _| match (old.channel(id), new.channel(id)) {
        (Some(before), Some(after)) => before.discovery_identity() == after.discovery_identity(),
        _ => false,
    });
}

//! Running discovery: every enabled channel at start (in the background: the gateway already
//! serves from the cache and configured models), again every `discovery.interval_s`, for new
//! or changed channels after a reload, and on `POST /v1/admin/discover`.
//!
//! At most `discovery.concurrency` channels are fetched at once, each bounded by
//! `discovery.timeout_s`. A success replaces the channel's list (cache file written
//! atomically, snapshot rebuilt, models removed after a 404 may serve again); a failure keeps
//! the last good list and is recorded on the channel (last error, last attempt) for `/health`
//! and `channel-status`. A channel that never succeeded and has no cache serves its
//! `configured_models`. A 401 or 403 is a rejected key, as it would be on a call: the channel
//! is blacklisted for `routing.auth_blacklist_s` and an `invalid_api_key` alert is written
//! (same quiet-hour rule), so a bad key shows before the first real request fails.

use std::sync::Arc;

use chrono::Utc;
use futures::StreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::catalog::{ChannelModelList, ModelSource};
use crate::config::Channel;
use crate::discovery::cache::ChannelCache;
use crate::discovery::fetch::fetch_models;
use crate::state::rebuilder::{Change, Rebuilder};
use crate::state::AppState;

/// One channel's discovery result, as `POST /v1/admin/discover` reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChannelDiscovery {
    pub channel_id: String,
    pub ok: bool,
    pub models: usize,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Discover the enabled channels named in `only` (all enabled ones when `None`) and wait
/// until the snapshot includes the results.
pub async fn discover(
    state: &Arc<AppState>,
    rebuilder: &Rebuilder,
    only: Option<&[String]>,
) -> Vec<ChannelDiscovery> {
    let snapshot = state.snapshot();
    let config = snapshot.config.clone();
    let channels: Vec<Arc<Channel>> = config
        .enabled_channels()
        .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
        .cloned()
        .collect();
    let cache = ChannelCache::new(&config.server.cache_dir);
    let timeout = config.discovery.timeout;
    let mut results: Vec<ChannelDiscovery> = futures::stream::iter(channels)
        .map(|channel| {
            let cache = &cache;
            async move { discover_one(state, rebuilder, cache, &channel, timeout).await }
        })
        .buffer_unordered(config.discovery.concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
    results
}

async fn discover_one(
    state: &Arc<AppState>,
    rebuilder: &Rebuilder,
    cache: &ChannelCache,
    channel: &Arc<Channel>,
    timeout: std::time::Duration,
) -> ChannelDiscovery {
    let started = std::time::Instant::now();
    let attempt_at = Utc::now();
    let fetched = fetch_models(&crate::upstream::client::reqwest_client(), channel, timeout).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match fetched {
        Ok(models) => {
            let count = models.len();
            let list = Arc::new(ChannelModelList {
                models,
                source: ModelSource::Api,
            });
            let (to_store, for_cache, cache) = (list.clone(), channel.clone(), cache.clone());
            let stored =
                tokio::task::spawn_blocking(move || cache.store(&for_cache, &to_store, attempt_at))
                    .await;
            match stored {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(channel = %channel.id, "cannot write the discovery cache: {e}")
                }
                Err(e) => tracing::warn!(channel = %channel.id, "discovery cache task failed: {e}"),
            }
            update_status(state, &channel.id, |s| {
                s.last_attempt = Some(attempt_at);
                s.last_success = Some(attempt_at);
                s.last_error = None;
                s.models = count;
                s.source = Some(ModelSource::Api.as_str());
            });
            state.health.rediscovered(&channel.id);
            rebuilder
                .apply(Change::Models {
                    channel_id: channel.id.clone(),
                    list,
                })
                .await;
            tracing::info!(channel = %channel.id, models = count, duration_ms, "discovered");
            ChannelDiscovery {
                channel_id: channel.id.clone(),
                ok: true,
                models: count,
                error: None,
                duration_ms,
            }
        }
        Err(e) => {
            let message = e.to_string();
            update_status(state, &channel.id, |s| {
                s.last_attempt = Some(attempt_at);
                s.last_error = Some(message.clone());
            });
            if matches!(e.status, Some(401 | 403)) {
                key_rejected(state, channel, &message);
            }
            tracing::warn!(channel = %channel.id, "discovery failed (the last good list keeps serving): {message}");
            ChannelDiscovery {
                channel_id: channel.id.clone(),
                ok: false,
                models: 0,
                error: Some(message),
                duration_ms,
            }
        }
    }
}

/// A key rejected during discovery: blacklist the channel and alert, as a call would.
fn key_rejected(state: &Arc<AppState>, channel: &Channel, message: &str) {
    let length = state.snapshot().config.routing.auth_blacklist;
    state.health.blacklist_channel(
        channel,
        crate::health::BlacklistReason::InvalidKey,
        length,
        message.to_string(),
        tokio::time::Instant::now(),
    );
    let alerts = state.alerts.clone();
    let (id, name, message) = (
        channel.id.clone(),
        channel.name.clone(),
        format!("during discovery: {message}"),
    );
    // On the usage writer's thread, like a call's alerts: in order, flushed at shutdown.
    state.usage.run_in_order(Box::new(move || {
        let mut log = alerts.lock().unwrap_or_else(|p| p.into_inner());
        let class = crate::stats::alerts::ErrorClass::InvalidApiKey;
        if let Err(e) = log.record_error(&id, &name, class, &message, Utc::now()) {
            tracing::error!("cannot write a channel alert: {e}");
        }
    }));
}

fn update_status(
    state: &AppState,
    channel_id: &str,
    f: impl FnOnce(&mut crate::state::DiscoveryStatus),
) {
    let mut statuses = state.discovery.lock().unwrap_or_else(|p| p.into_inner());
    f(statuses.entry(channel_id.to_string()).or_default());
}

/// Discover everything now, then every `discovery.interval_s` (read from the live config
/// each time), until shutdown.
pub fn spawn_periodic(
    state: Arc<AppState>,
    rebuilder: Rebuilder,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) {
    tasks.spawn(async move {
        loop {
            let config = state.snapshot().config.clone();
            if config.discovery.enabled {
                let work = discover(&state, &rebuilder, None);
                tokio::select! {
                    _ = work => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(config.discovery.interval) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

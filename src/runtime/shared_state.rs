//! Connecting the shared state (`state.redis_url`) to this instance at start: health and rate
//! windows publish through it, other instances' events are applied to them and to the spend
//! board, `Hello` answers with this instance's live state, and staged spend totals are
//! published every `SPEND_TICK`. Its tasks run on the tracker shutdown waits for.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::shared_state::redis::{self, Hooks};
use crate::shared_state::spend::all_totals;
use crate::shared_state::{SharedEvent, SharedState};
use crate::state::AppState;

/// How often this instance's spend totals are published.
const SPEND_TICK: Duration = Duration::from_millis(50);

/// With `state.redis_url`, connect and hook health, windows and spend to Redis.
pub fn connect(state: &Arc<AppState>, tasks: &TaskTracker, shutdown: CancellationToken) {
    let config = state.snapshot().config.state.clone();
    let Some(url) = config.redis_url else {
        return;
    };
    let (for_apply, for_live) = (Arc::downgrade(state), Arc::downgrade(state));
    let (metrics, claims) = (state.metrics.clone(), state.metrics.clone());
    let hooks = Hooks {
        on_error: Box::new(move || metrics.shared_state_error()),
        on_claim: Arc::new(move |won| claims.shared_state_claim(won)),
        apply: Box::new(move |from, event| {
            if let Some(state) = for_apply.upgrade() {
                apply(&state, from, event);
            }
        }),
        live_state: Box::new(move || for_live.upgrade().map_or_else(Vec::new, |s| live_state(&s))),
    };
    let shutdown_for_spend = shutdown.clone();
    let started = redis::start(
        url.expose(),
        &config.key_prefix,
        config.timeout,
        hooks,
        tasks,
        shutdown,
    );
    let shared = match started {
        Ok(shared) => shared,
        Err(e) => {
            tracing::error!("{e}; the state stays in this process");
            return;
        }
    };
    let out = shared.clone();
    state
        .health
        .set_outbox(Box::new(move |e| out.publish(SharedEvent::Health(e))));
    let out = shared.clone();
    state
        .limits
        .set_outbox(Box::new(move |e| out.publish(SharedEvent::Window(e))));
    tasks.spawn(publish_spend(
        Arc::downgrade(state),
        shared.clone(),
        shutdown_for_spend,
    ));
    state.shared.set(shared);
}

/// Another instance's event, applied to local state.
fn apply(state: &AppState, from: u64, event: SharedEvent) {
    match event {
        SharedEvent::Health(e) => {
            let backoff = crate::health::backoff_of(&state.snapshot().config.routing);
            state.health.apply(&e, &backoff, Instant::now())
        }
        SharedEvent::Window(e) => state.limits.apply_remote(&e, crate::limits::now_ms()),
        SharedEvent::Spend { day, scope, total } => {
            if let Ok(day) = day.parse() {
                state.spend_board.set(from, day, &scope, total);
            }
        }
        SharedEvent::Hello => {}
    }
}

/// Blacklists, cooldowns and today's spend of this instance.
fn live_state(state: &AppState) -> Vec<SharedEvent> {
    let mut events: Vec<SharedEvent> = state
        .health
        .active_events(Instant::now())
        .into_iter()
        .map(SharedEvent::Health)
        .collect();
    let aggregates = state.aggregates.read().unwrap_or_else(|p| p.into_inner());
    events.extend(all_totals(&aggregates, Utc::now().date_naive()));
    events
}

/// Publish the staged spend totals every `SPEND_TICK` (well within the second spend may
/// take to reach the other instances).
async fn publish_spend(
    state: std::sync::Weak<AppState>,
    shared: Arc<redis::RedisState>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(SPEND_TICK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(state) = state.upgrade() else {
            return;
        };
        for event in state.spend_board.take_staged() {
            shared.publish(event);
        }
    }
}

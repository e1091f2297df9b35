//! [`SharedState`] on Redis (`state.redis_url`), with the `redis` crate's connection manager.
//!
//! Two background tasks, both on the tracker shutdown waits for:
//! - the publisher drains a bounded queue of encoded events into `PUBLISH <prefix>events`
//!   (a full queue drops: publishing never blocks a request), and of released claims into
//!   `DEL`, in the order they were queued;
//! - the subscriber listens on the same channel and hands other instances' events to the
//!   applier; when it (re)subscribes it says `Hello`, and on every `Hello` this instance
//!   publishes its live state again (so a new instance, or one back from an outage, syncs).
//!
//! Claims are `SET <prefix><name> <instance> NX PX <ttl>`, bounded by `state.timeout_ms`.
//! Any failure marks the state degraded (one warning per outage, a metrics count); it is
//! healthy again once the subscriber is back and a command succeeds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures::future::BoxFuture;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Envelope, OnceJob, SharedEvent, SharedState, SharedStatus};

/// Events waiting to be published; beyond this they are dropped.
const QUEUE: usize = 8192;
/// How long the background tasks wait for Redis (off the request path).
const BACKGROUND_TIMEOUT: Duration = Duration::from_millis(500);
/// Pause between reconnection attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// What the instance does with other instances' events, and what it says on `Hello`.
pub struct Hooks {
    /// A call to Redis failed (counted by `/metrics`).
    pub on_error: Box<dyn Fn() + Send + Sync>,
    /// A claim Redis answered: won by this instance (`true`) or by another (counted by
    /// `/metrics`).
    pub on_claim: Arc<dyn Fn(bool) + Send + Sync>,
    pub apply: Box<dyn Fn(u64, SharedEvent) + Send + Sync>,
    pub live_state: Box<dyn Fn() -> Vec<SharedEvent> + Send + Sync>,
}

/// The Redis-backed shared state.
pub struct RedisState {
    instance: u64,
    prefix: String,
    channel: String,
    client: redis::Client,
    queue: mpsc::Sender<Outgoing>,
    conn: ArcSwapOption<ConnectionManager>,
    subscribed: AtomicBool,
    healthy: AtomicBool,
    warned: AtomicBool,
    applied: AtomicU64,
    timeout: Duration,
    on_error: Box<dyn Fn() + Send + Sync>,
    on_claim: Arc<dyn Fn(bool) + Send + Sync>,
    tasks: TaskTracker,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("instance", &self.instance)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Open the shared state and start its tasks. Fails only on a URL Redis cannot parse; an
/// unreachable Redis starts degraded and is retried.
pub fn start(
    url: &str,
    prefix: &str,
    timeout: Duration,
    hooks: Hooks,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<Arc<RedisState>, String> {
    let client = redis::Client::open(url).map_err(|e| format!("state.redis_url: {e}"))?;
    let (queue, receiver) = mpsc::channel(QUEUE);
    let Hooks {
        on_error,
        on_claim,
        apply,
        live_state,
    } = hooks;
    let state = Arc::new(RedisState {
        instance: rand::random::<u64>() >> 1,
        prefix: prefix.to_string(),
        channel: format!("{prefix}events"),
        client,
        queue,
        conn: ArcSwapOption::empty(),
        subscribed: AtomicBool::new(false),
        healthy: AtomicBool::new(false),
        warned: AtomicBool::new(false),
        applied: AtomicU64::new(0),
        timeout,
        on_error,
        on_claim,
        tasks: tasks.clone(),
        runtime: tokio::runtime::Handle::current(),
    });
    let hooks = Arc::new(Listener { apply, live_state });
    tasks.spawn(publisher(state.clone(), receiver, shutdown.clone()));
    tasks.spawn(subscriber(state.clone(), hooks, shutdown));
    Ok(state)
}

impl RedisState {
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Something failed: degraded until Redis answers again.
    fn degrade(&self, what: &str) {
        (self.on_error)();
        self.healthy.store(false, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "shared state (Redis) unavailable: {what}; serving on local state until it is back"
            );
        }
    }

    fn recovered(&self) {
        if self.subscribed.load(Ordering::Relaxed)
            && !self.healthy.swap(true, Ordering::Relaxed)
            && self.warned.swap(false, Ordering::Relaxed)
        {
            tracing::info!("shared state (Redis) is back");
        }
    }

    /// The connection, opened when there is none.
    async fn connection(&self) -> Option<ConnectionManager> {
        if let Some(conn) = self.conn.load_full() {
            return Some((*conn).clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(BACKGROUND_TIMEOUT))
            .set_response_timeout(Some(BACKGROUND_TIMEOUT))
            .set_number_of_retries(1);
        let connect = self.client.get_connection_manager_with_config(config);
        match tokio::time::timeout(BACKGROUND_TIMEOUT, connect).await {
            Ok(Ok(conn)) => {
                self.conn.store(Some(Arc::new(conn.clone())));
                Some(conn)
            }
            Ok(Err(e)) => {
                self.degrade(&e.to_string());
                None
            }
            Err(_) => {
                self.degrade("connection timed out");
                None
            }
        }
    }

    async fn set_nx(&self, name: &str, ttl: Duration, wait: Duration) -> bool {
        let Some(mut conn) = self.conn.load_full().map(|c| (*c).clone()) else {
            return true;
        };
        let mut command = redis::cmd("SET");
        command
            .arg(format!("{}{name}", self.prefix))
            .arg(self.instance)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        let answer = command.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(won)) => {
                (self.on_claim)(won.is_some());
                won.is_some()
            }
            Ok(Err(e)) => {
                self.degrade(&e.to_string());
                true
            }
            Err(_) => {
                self.degrade("a claim timed out");
                true
            }
        }
    }
}

impl SharedState for RedisState {
    fn publish(&self, event: SharedEvent) {
        // Dropped when full or degraded: `Hello` brings the live state back later.
        let _ = self.queue.try_send(Outgoing::Event(event));
    }

    fn release(&self, names: Vec<String>) {
        if !names.is_empty() {
            let _ = self.queue.try_send(Outgoing::Release(names));
        }
    }

    fn claim<'a>(&'a self, name: &'a str, ttl: Duration) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            if !self.healthy.load(Ordering::Relaxed) {
                return true;
            }
            self.set_nx(name, ttl, self.timeout).await
        })
    }

    fn once(&self, name: String, ttl: Duration, job: OnceJob) {
        let conn = self.conn.load_full();
        if conn.is_none() || !self.healthy.load(Ordering::Relaxed) {
            return job();
        }
        let me = SetNx {
            conn,
            key: format!("{}{name}", self.prefix),
            instance: self.instance,
            on_claim: self.on_claim.clone(),
        };
        self.tasks.spawn_on(
            async move {
                if me.won(ttl).await {
                    job();
                }
            },
            &self.runtime,
        );
    }

    fn status(&self) -> SharedStatus {
        if self.healthy.load(Ordering::Relaxed) {
            SharedStatus::Ok
        } else {
            SharedStatus::Degraded
        }
    }

    fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }
}

/// A claim made off the request path (alerts).
struct SetNx {
    conn: Option<Arc<ConnectionManager>>,
    key: String,
    instance: u64,
    on_claim: Arc<dyn Fn(bool) + Send + Sync>,
}

impl SetNx {
    async fn won(self, ttl: Duration) -> bool {
        let Some(mut conn) = self.conn.map(|c| (*c).clone()) else {
            return true;
        };
        let mut command = redis::cmd("SET");
        command
            .arg(&self.key)
            .arg(self.instance)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        let answer = command.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(BACKGROUND_TIMEOUT, answer).await {
            Ok(Ok(won)) => {
                (self.on_claim)(won.is_some());
                won.is_some()
            }
            // Better an alert twice than never.
            _ => true,
        }
    }
}

/// What the publisher sends, in the order it was queued.
enum Outgoing {
    Event(SharedEvent),
    /// Claims given up: `DEL` them, so the next claim of each may win.
    Release(Vec<String>),
}

/// The command that sends `outgoing` (`None`: an event that cannot be encoded).
fn command_for(state: &RedisState, outgoing: Outgoing) -> Option<redis::Cmd> {
    match outgoing {
        Outgoing::Event(event) => {
            let envelope = Envelope {
                from: state.instance,
                event,
            };
            let payload = serde_json::to_string(&envelope).ok()?;
            let mut command = redis::cmd("PUBLISH");
            command.arg(&state.channel).arg(payload);
            Some(command)
        }
        Outgoing::Release(names) => {
            let mut command = redis::cmd("DEL");
            for name in names {
                command.arg(format!("{}{name}", state.prefix));
            }
            Some(command)
        }
    }
}

async fn publisher(
    state: Arc<RedisState>,
    mut receiver: mpsc::Receiver<Outgoing>,
    shutdown: CancellationToken,
) {
    loop {
        let outgoing = tokio::select! {
            _ = shutdown.cancelled() => return,
            outgoing = receiver.recv() => match outgoing {
                Some(outgoing) => outgoing,
                None => return,
            },
        };
        let Some(command) = command_for(&state, outgoing) else {
            continue;
        };
        let Some(mut conn) = state.connection().await else {
            continue;
        };
        let sent = command.query_async::<i64>(&mut conn);
        match tokio::time::timeout(BACKGROUND_TIMEOUT, sent).await {
            Ok(Ok(_)) => state.recovered(),
            Ok(Err(e)) => state.degrade(&e.to_string()),
            Err(_) => state.degrade("publishing timed out"),
        }
    }
}

/// What the subscriber does with what it hears.
struct Listener {
    apply: Box<dyn Fn(u64, SharedEvent) + Send + Sync>,
    live_state: Box<dyn Fn() -> Vec<SharedEvent> + Send + Sync>,
}

async fn subscriber(state: Arc<RedisState>, hooks: Arc<Listener>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let why = listen(&state, &hooks, &shutdown).await;
        state.subscribed.store(false, Ordering::Relaxed);
        if shutdown.is_cancelled() {
            return;
        }
        state.degrade(&why);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RECONNECT_PAUSE) => {}
        }
    }
}

/// One subscription, until it ends; why it ended (the client's words: `Password
/// authentication failed` for a refused password, which it never repeats).
async fn listen(state: &RedisState, hooks: &Listener, shutdown: &CancellationToken) -> String {
    let opened = tokio::time::timeout(BACKGROUND_TIMEOUT, state.client.get_async_pubsub()).await;
    let mut pubsub = match opened {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(e)) => return format!("cannot subscribe: {e}"),
        Err(_) => return "cannot subscribe: no answer in time".into(),
    };
    match tokio::time::timeout(BACKGROUND_TIMEOUT, pubsub.subscribe(&state.channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return format!("cannot subscribe: {e}"),
        Err(_) => return "cannot subscribe: no answer in time".into(),
    }
    state.subscribed.store(true, Ordering::Relaxed);
    // Make sure the command connection works, then say hello and publish what we know.
    if state.connection().await.is_some() {
        state.recovered();
    }
    state.publish(SharedEvent::Hello);
    for event in (hooks.live_state)() {
        state.publish(event);
    }
    let mut messages = pubsub.into_on_message();
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => return "shutting down".into(),
            message = messages.next() => match message {
                Some(message) => message,
                None => return "the subscription ended".into(),
            },
        };
        let Ok(envelope) = serde_json::from_slice::<Envelope>(message.get_payload_bytes()) else {
            continue;
        };
        if envelope.from == state.instance {
            continue;
        }
        if envelope.event == SharedEvent::Hello {
            for event in (hooks.live_state)() {
                state.publish(event);
            }
            continue;
        }
        state.applied.fetch_add(1, Ordering::Relaxed);
        (hooks.apply)(envelope.from, envelope.event);
    }
}

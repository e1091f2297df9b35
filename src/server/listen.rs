//! Serving threads: `server.workers` OS threads, each running its own single-threaded tokio
//! runtime with its own listening socket (`SO_REUSEPORT`, so the kernel spreads connections
//! over them) and its own upstream client (`upstream::client::send`).
//!
//! Why not one multi-threaded runtime: a request there hops between worker threads (the
//! connection task, the upstream connection's task and the usage of an idle worker to steal
//! work each cost a futex wake-up and a context switch). Measured on 2 cores shared with the
//! load generator and the mock upstream: about a third of the gateway's CPU went to the
//! scheduler, and one request at a time paid tens of microseconds of wake-ups. Here a request
//! lives on one thread from accept to the last byte; threads share only the state snapshot,
//! health, metrics and the usage queue. A connection stays on the thread that accepted it.
//!
//! Everything that can fail (binding, building the runtimes) happens before any thread
//! starts, so a bad address or port is a start error. Each thread is tracked: shutdown cancels
//! the token, every server finishes its in-flight requests, and the thread ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, Closed};
use crate::config::ConnectionLimits;
use crate::metrics::Metrics;

/// Pending connections the kernel queues per listener.
const BACKLOG: u32 = 1024;

/// Bind `workers` listeners on `addr` (one without `SO_REUSEPORT` when `workers` is 1, or on
/// platforms without it). Returns them unregistered (std), for each serving runtime to adopt.
pub async fn bind(addr: &str, workers: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    if workers <= 1 || !cfg!(unix) {
        return Ok(vec![TcpListener::bind(addr).await?.into_std()?]);
    }
    let mut at = tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "the host resolves to no address",
        )
    })?;
    probe_free(at)?;
    let mut listeners = Vec::with_capacity(workers);
    for _ in 0..workers {
        let listener = reuse_port_listener(at)?;
        // Port 0: the others join the port the first one got.
        at = listener.local_addr()?;
        listeners.push(listener.into_std()?);
    }
    Ok(listeners)
}

/// Fail when another socket listens on `addr`: `SO_REUSEPORT` would otherwise let this
/// gateway share the port with any other process of the same user that set it too (another
/// gateway, say), and each would get a share of the connections. The probe binds without
/// `SO_REUSEPORT` (with `SO_REUSEADDR`, so connections of a previous run in TIME_WAIT do not
/// block a restart) and is closed at once; only this gateway's own workers share the port.
fn probe_free(addr: SocketAddr) -> std::io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    match socket.bind(addr).and_then(|()| socket.listen(1)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "port {} is already in use by another process (stop it, or set another server.port)",
                addr.port()
            ),
        )),
        Err(e) => Err(e),
    }
}

/// A listener on `addr` that shares its port (`SO_REUSEPORT`, on unix: the only platforms
/// `bind` asks for more than one).
fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    {
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// A serving thread ready to start: its runtime and its listener, registered with it.
pub struct Worker {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
}

/// Build one single-threaded runtime per listener and register the listener with it.
pub fn prepare(listeners: Vec<std::net::TcpListener>) -> std::io::Result<Vec<Worker>> {
    listeners
        .into_iter()
        .map(|listener| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let listener = {
                let _in_runtime = runtime.enter();
                TcpListener::from_std(listener)?
            };
            Ok(Worker { runtime, listener })
        })
        .collect()
}

/// Start one thread per worker; each serves `router` until `shutdown`, then finishes its
/// in-flight requests within `limits.shutdown_timeout` and closes what is left. The threads
/// are tracked by `tasks`. `max_connections` is shared by all of them.
pub fn spawn(
    workers: Vec<Worker>,
    router: Router,
    limits: ConnectionLimits,
    busy_poll: Duration,
    metrics: Arc<Metrics>,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let cap = match limits.max_connections {
        0 => connection::default_max_connections(),
        n => n,
    };
    let shared = Arc::new(Shared {
        router,
        limits,
        busy_poll,
        open: Arc::new(Semaphore::new(cap.min(Semaphore::MAX_PERMITS))),
        metrics,
    });
    for (i, worker) in workers.into_iter().enumerate() {
        let shared = shared.clone();
        let stop = shutdown.clone();
        let (ended, wait_end) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("sar-worker-{i}"))
            .spawn(move || {
                let Worker { runtime, listener } = worker;
                runtime.block_on(serve(listener, &shared, stop));
                // Connections still open past the shutdown timeout are dropped here.
                drop(runtime);
                let _ = ended.send(());
            })?;
        tasks.spawn(async move {
            let _ = wait_end.await;
        });
    }
    Ok(())
}

/// What every worker shares.
struct Shared {
    router: Router,
    limits: ConnectionLimits,
    /// `server.busy_poll_us`: zero is off.
    busy_poll: Duration,
    /// Room for one more open client connection, across workers.
    open: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

async fn serve(listener: TcpListener, shared: &Shared, stop: CancellationToken) {
    // Built before the first accept, not by the first request.
    crate::upstream::client::warm_up();
    super::busy_poll::start(shared.busy_poll);
    let builder = connection::builder();
    let connections = TaskTracker::new();
    let mut backoff = AcceptBackoff::default();
    loop {
        // At the cap, wait here: new connections queue in the kernel's backlog, and the
        // ones open are not disturbed.
        let permit = tokio::select! {
            permit = shared.open.clone().acquire_owned() => permit,
            _ = stop.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => break,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => tcp,
            Err(e) => {
                drop(permit);
                shared.metrics.connections.accept_error();
                tokio::select! {
                    _ = backoff.wait(&e) => continue,
                    _ = stop.cancelled() => break,
                }
            }
        };
        backoff.reset();
        // Without TCP_NODELAY, one request at a time pays ~40 ms of delayed-ACK latency.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let router = shared.router.clone();
        let builder = builder.clone();
        let limits = shared.limits;
        let metrics = shared.metrics.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            metrics.connections.opened();
            let closed = connection::serve(tcp, router, &builder, &limits, &stop).await;
            metrics.connections.closed(closed.map(Closed::as_str));
            drop(permit);
        });
    }
    // Stop accepting: the listening socket closes, new connections are refused.
    drop(listener);
    connections.close();
    let finished = tokio::time::timeout(shared.limits.shutdown_timeout, connections.wait()).await;
    if finished.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown: connections still busy after server.shutdown_timeout_s are closed"
        );
    }
}

/// Accept errors (out of file descriptors, out of memory) back off instead of spinning: a
/// pause from 10 ms doubling to 1 s, and one warning per episode.
#[derive(Default)]
struct AcceptBackoff {
    pause: Option<Duration>,
}

impl AcceptBackoff {
    async fn wait(&mut self, error: &std::io::Error) {
        let pause = match self.pause {
            None => {
                tracing::warn!(
                    "cannot accept connections: {error}; pausing accepts (raise the open-file \
                     limit or lower server.max_connections)"
                );
                Duration::from_millis(10)
            }
            Some(pause) => (pause * 2).min(Duration::from_secs(1)),
        };
        self.pause = Some(pause);
        tokio::time::sleep(pause).await;
    }

    fn reset(&mut self) {
        if self.pause.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn several_workers_share_one_port() {
        let listeners = bind("127.0.0.1:0", 3).await.expect("bind");
        assert_eq!(listeners.len(), if cfg!(unix) { 3 } else { 1 });
        let ports: Vec<u16> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.port())
            .collect();
        assert!(ports[0] != 0);
        assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    }

    #[tokio::test]
    async fn one_worker_binds_as_before_and_a_taken_port_is_an_error() {
        let one = bind("127.0.0.1:0", 1).await.expect("bind");
        assert_eq!(one.len(), 1);
        let taken = one[0].local_addr().expect("addr");
        assert!(bind(&taken.to_string(), 1).await.is_err());
        assert!(bind(&taken.to_string(), 2).await.is_err());
    }
}

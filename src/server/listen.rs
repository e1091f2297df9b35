//! Serving threads: `server.workers` OS threads, each running its own single-threaded tokio
//! runtime with its own listening socket (`SO_REUSEPORT`, so the kernel spreads connections
//! over them) and its own upstream client (`upstream::client::client`).
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

use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    let mut listeners = Vec::with_capacity(workers);
    for _ in 0..workers {
        let listener = reuse_port_listener(at)?;
        // Port 0: the others join the port the first one got.
        at = listener.local_addr()?;
        listeners.push(listener.into_std()?);
    }
    Ok(listeners)
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
/// in-flight requests. The threads are tracked by `tasks`.
pub fn spawn(
    workers: Vec<Worker>,
    router: Router,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    for (i, worker) in workers.into_iter().enumerate() {
        let router = router.clone();
        let stop = shutdown.clone();
        let (ended, wait_end) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("sar-worker-{i}"))
            .spawn(move || {
                let Worker { runtime, listener } = worker;
                runtime.block_on(serve(listener, router, stop));
                drop(runtime);
                let _ = ended.send(());
            })?;
        tasks.spawn(async move {
            let _ = wait_end.await;
        });
    }
    Ok(())
}

async fn serve(listener: TcpListener, router: Router, stop: CancellationToken) {
    // Built before the first accept, not by the first request.
    drop(crate::upstream::client::client());
    // Without TCP_NODELAY, one request at a time pays ~40 ms of delayed-ACK latency.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::error!("server stopped with an error: {e}");
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

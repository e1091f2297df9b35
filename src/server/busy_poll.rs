//! Busy-polling a serving thread for a short window after each request starts
//! (`server.busy_poll_us`, off by default).
//!
//! On an idle machine (a VM especially) a thread that sleeps in `epoll_wait` is woken tens of
//! microseconds after its socket becomes readable: the CPU has gone into a low-power state and
//! must come back (on a VM, through the hypervisor). A routed call sleeps twice (for the
//! upstream's answer and for the client's next request), so on a quiet machine those wake-ups
//! are most of the gateway's added latency. With a window set, a spinner task keeps the
//! thread's runtime polling its sockets (a zero-timeout `epoll_wait` per turn, between the
//! real tasks) until the window after the latest request start has passed, then parks until
//! the next request. It costs up to the window in CPU per request at low load and nearly
//! nothing at full load (the runtime is never idle then); BENCHMARKS.md has both figures.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

thread_local! {
    static WINDOW: Cell<Option<Duration>> = const { Cell::new(None) };
    static SPIN_UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
    static WAKE: Arc<Notify> = Arc::new(Notify::new());
}

/// Start the spinner of this serving thread (call inside its runtime); `window` zero: off.
pub fn start(window: Duration) {
    if window.is_zero() {
        return;
    }
    WINDOW.set(Some(window));
    let wake = WAKE.with(Arc::clone);
    tokio::spawn(spin(wake));
}

/// A request started on this thread: keep polling until `window` from now.
pub fn request_started() {
    if let Some(window) = WINDOW.get() {
        SPIN_UNTIL.set(Some(Instant::now() + window));
        WAKE.with(|wake| wake.notify_one());
    }
}

async fn spin(wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        while SPIN_UNTIL.get().is_some_and(|until| Instant::now() < until) {
            // Back of the queue: the runtime polls its sockets (zero timeout) and runs every
            // other ready task before this one runs again.
            tokio::task::yield_now().await;
        }
    }
}

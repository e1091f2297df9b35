//! Keeps the history writer from holding a CPU for long stretches.
//!
//! The writer's work comes in bursts: every batch window it builds and stores everything that
//! queued meanwhile, several milliseconds of CPU at a time. A serving thread woken on the CPU
//! the writer runs on waits behind such a burst (the scheduler moves it to the idle CPU only
//! later), which showed as a 3–4 ms p99 at one connection while p50 and p90 were unchanged.
//! Yielding did not help; sleeping does: after [`SLICE`] of work the writer sleeps [`REST`],
//! so whatever queued on its CPU runs. A writer that is behind (under a load where latency
//! is set by queues anyway) does not rest: resting cost it a third of its rows per second.
//! Measured in BENCHMARKS.md (request history). A slice of 50 µs rather than 200 brought the
//! gateway's p99 at one connection with the history on from 674–769 to 539–593 µs (six
//! rounds each, the two builds in turn; §14); the importer, at idle priority, rests too:
//! without its rests the p99 rose again while it caught up.

use std::time::{Duration, Instant};

/// Work done between rests, at most (plus one unit of work).
pub const SLICE: Duration = Duration::from_micros(50);
/// A rest: long enough to be a real sleep that hands the CPU over.
pub const REST: Duration = Duration::from_micros(20);

/// Tracks how long the writer has worked since it last slept.
#[derive(Debug)]
pub struct Pacer {
    since: Instant,
    /// Never rests at all (see [`Pacer::unpaced`]).
    unpaced: bool,
    /// Rests now (not while behind).
    resting: bool,
    rests: u64,
}

impl Pacer {
    /// A pacer that rests after every [`SLICE`] of work.
    pub fn new() -> Self {
        Self {
            since: Instant::now(),
            unpaced: false,
            resting: true,
            rests: 0,
        }
    }

    /// A pacer that never rests, whatever [`Self::set_resting`] says (tests, one-off imports,
    /// a thread at idle priority).
    pub fn unpaced() -> Self {
        Self {
            unpaced: true,
            ..Self::new()
        }
    }

    /// Rest (`true`) or not (a writer that is behind: its rests would only cost it rows).
    pub fn set_resting(&mut self, resting: bool) {
        self.resting = resting;
    }

    /// Between two units of work: sleep for [`REST`] once [`SLICE`] has passed since the
    /// last rest.
    pub fn breathe(&mut self) {
        if self.resting && !self.unpaced && self.since.elapsed() >= SLICE {
            std::thread::sleep(REST);
            self.rests += 1;
            self.rested();
        }
    }

    /// How many times [`Self::breathe`] slept.
    pub fn rests(&self) -> u64 {
        self.rests
    }

    /// The writer has just slept (waiting for work): its slice starts again.
    pub fn rested(&mut self) {
        self.since = Instant::now();
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work_one_slice() {
        let start = Instant::now();
        while start.elapsed() < SLICE {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn rests_once_a_slice_of_work_has_passed_and_only_when_resting() {
        let mut pacer = Pacer::new();
        work_one_slice();
        pacer.breathe();
        assert_eq!(pacer.rests(), 1);
        pacer.set_resting(false);
        work_one_slice();
        pacer.breathe();
        assert_eq!(pacer.rests(), 1, "a writer that is behind does not rest");
        pacer.set_resting(true);
        pacer.breathe();
        assert_eq!(pacer.rests(), 2);

        let mut unpaced = Pacer::unpaced();
        work_one_slice();
        unpaced.breathe();
        unpaced.set_resting(true);
        unpaced.breathe();
        assert_eq!(unpaced.rests(), 0, "an unpaced pacer never rests");
    }
}

//! Shared by the two binaries: the wall clock in microseconds (both run on one machine, so a
//! timestamp written by the mock can be compared with the client's arrival time).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

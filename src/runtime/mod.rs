//! The background side of the process: the one writer of the snapshot
//! (`snapshot_writer`), live reload of the config files (`reload`), and discovery runs at
//! start, on a timer and on demand (`discovery`), plus the generated API token file (`token`).
//!
//! Layer: above the shared state and beside the proxy (neither names the other); below the
//! server, whose admin routes ask for a reload or a discovery through these modules.

pub mod discovery;
pub mod reload;
pub mod snapshot_writer;
pub mod token;

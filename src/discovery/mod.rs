//! Model discovery: fetch each channel's model list, parse it, cache it (SPEC §3, §11).

pub mod parse;

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::ChannelModelList;
use crate::config::Config;

/// Each enabled channel's cached model list, for starting without the network.
pub fn cached_lists(config: &Config) -> HashMap<String, Arc<ChannelModelList>> {
    let _ = config;
    HashMap::new()
}

//! Model discovery: fetch each channel's model list (`fetch`), parse it (`parse`), cache it
//! (`cache`). Running it (at start, periodically, on demand) is `runtime::discovery`.

pub mod cache;
mod entry_fields;
pub mod fetch;
pub mod parse;

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::ChannelModelList;
use crate::config::Config;

/// Each enabled channel's cached model list, for starting without the network.
pub fn cached_lists(config: &Config) -> HashMap<String, Arc<ChannelModelList>> {
    cache::ChannelCache::new(&config.server.cache_dir)
        .load_all(config.enabled_channels())
        .into_iter()
        .map(|(id, cached)| (id, Arc::new(cached.list)))
        .collect()
}

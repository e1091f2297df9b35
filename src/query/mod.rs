//! Queries (docs/queries.md): the client's `model` string parsed (`parse`) and resolved against the
//! catalog into candidates (`resolve`).

mod parse;
mod resolve;

pub use parse::{parse_query, Comparison, Filter, FilterField, Query, QueryError, TagQuery};
pub use resolve::{resolve, split_name, Dropped, Needs, NoMatch, Resolution};

use crate::config::{Config, ConfigError, ConfigErrors, ConfigSource};

/// Load and validate the config, then parse the model queries it names
/// (`routing.default_model`, each rule's `model`): every caller (`serve`, `check`, reload)
/// loads through here, so a config whose query does not parse is rejected like any other error.
pub fn load_config(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    let config = crate::config::load_config(source)?;
    let file = source.router_path().display().to_string();
    let routing = &config.routing;
    let named = routing
        .default_model
        .iter()
        .map(|q| ("routing.default_model".to_string(), q))
        .chain(
            routing
                .rules
                .iter()
                .enumerate()
                .map(|(i, rule)| (format!("routing.rules[{i}].model"), &rule.model)),
        );
    let errors: Vec<ConfigError> = named
        .filter_map(|(key, query)| {
            parse_query(query).err().map(|e| {
                ConfigError::new(
                    &file,
                    key,
                    format!("{query:?} is not a usable model query: {e}"),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

//! Queries (docs/queries.md): the client's `model` string parsed (`parse`) and resolved against the
//! catalog into candidates (`resolve`).

mod parse;
mod resolve;

pub use parse::{parse_query, Comparison, Filter, FilterField, Query, QueryError, TagQuery};
pub use resolve::{resolve, split_name, Dropped, Needs, NoMatch, Resolution};

use crate::config::locate::{line_of, segments};
use crate::config::{Config, ConfigError, ConfigErrors, ConfigSource};

/// Load and validate the config, then parse the model queries it names
/// (`routing.default_model`, each rule's `model`, each client key's `allow`): every caller
/// (`serve`, `check`, reload) loads through here, so a config whose query does not parse is
/// rejected like any other error, with the file and line.
pub fn load_config(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    let config = crate::config::load_config(source)?;
    let problems = query_problems(&config);
    if problems.is_empty() {
        return Ok(config);
    }
    let path = source.router_path();
    let file = path.display().to_string();
    // Only to place the message: a file that cannot be read again gives no line.
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let errors = problems
        .into_iter()
        .map(|(key_path, message)| ConfigError {
            line: line_of(&text, &segments(&key_path)),
            ..ConfigError::new(&file, key_path, message)
        })
        .collect();
    Err(ConfigErrors(errors))
}

/// Every model query of the config that does not parse: (key path, message).
pub fn query_problems(config: &Config) -> Vec<(String, String)> {
    let routing = &config.routing;
    let named = routing
        .default_model
        .iter()
        .map(|q| ("routing.default_model".to_string(), q, None))
        .chain(
            routing
                .rules
                .iter()
                .enumerate()
                .map(|(i, rule)| (format!("routing.rules[{i}].model"), &rule.model, None)),
        )
        .chain(config.auth.keys.iter().filter_map(|key| {
            let allow = key.allow.as_ref()?;
            Some((format!("{}.allow", key.key_path), allow, Some(&key.name)))
        }));
    named
        .filter_map(|(key_path, query, key)| {
            let e = parse_query(query).err()?;
            let whose = key.map_or(String::new(), |name| format!(" (key {name:?})"));
            let message = format!("{query:?} is not a usable model query{whose}: {e}");
            Some((key_path, message))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_allow_query_that_does_not_parse_is_a_config_error_with_its_line() {
        let dir = tempfile::tempdir().expect("dir");
        let providers = dir.path().join("providers.yaml");
        std::fs::write(providers, crate::config::BUILTIN_PROVIDERS).expect("providers");
        let router = "\
auth:
  keys:
    - name: family
      token: family-token-0123
      allow: \"tag:free\"
    - name: kids
      token: kids-token-0123
      allow: \"tag:!\"
    - { name: team, token: team-token-0123, allow: \"tag:,\" }
";
        std::fs::write(dir.path().join("router_config.yaml"), router).expect("router");
        let errors = load_config(&ConfigSource::new(dir.path())).expect_err("bad allow");
        let file = dir.path().join("router_config.yaml").display().to_string();
        let lines: Vec<String> = errors
            .0
            .iter()
            .map(|e| e.to_string().replace(&file, "FILE"))
            .collect();
        assert_eq!(
            lines,
            [
                r#"FILE:8: auth.keys[1].allow: "tag:!" is not a usable model query (key "kids"): `!` in "tag:!" needs a tag after it, e.g. "tag:free,!local""#,
                r#"FILE:9: auth.keys[2].allow: "tag:," is not a usable model query (key "team"): the tag query "tag:," is empty: list tags after `tag:`, e.g. "tag:free,qwen3,!local""#,
            ]
        );
    }
}

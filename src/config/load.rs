//! Reading the two config files: YAML, `${VAR}` interpolation, `SAR_` overrides (figment).
//!
//! Order, per docs/config.md: each file is parsed as YAML (syntax errors carry their line), strings are
//! interpolated, the result is typed once against the raw structs straight from the text (so
//! unknown keys and type errors carry their line), then `router_config.yaml` goes through figment
//! with the environment merged on top (`SAR_SERVER__PORT=8080`). Only variables with `__` in their
//! name are overrides; `SAR_LOG` and the like are left alone. Overrides reach the map sections
//! (server, auth, routing, discovery, usage, cost_control); channels are a list and take their
//! values from `${VAR}`. Interpolation applies to string values only: numbers come from `SAR_`.
//! This module reads files and the environment, and never decides whether a value is good:
//! that is `validate`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Serialized};
use figment::Figment;
use serde_yaml::Value;

use super::envfile;
use super::error::{ConfigError, ConfigErrors};
use super::interpolate::{interpolate_tree, UnsetVariable};
use super::keys::{strip_location, typed_collecting};
use super::legacy;
use super::locate::{line_of, segments};
use super::raw::{RawProvidersFile, RawRouterConfig};
use super::validate::validate;
use super::Config;

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub dir: PathBuf,
}

impl ConfigSource {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn providers_path(&self) -> PathBuf {
        self.dir.join("providers.yaml")
    }

    pub fn router_path(&self) -> PathBuf {
        self.dir.join("router_config.yaml")
    }
}

/// The provider list shipped with the gateway, used when an original-format config directory
/// has no providers.yaml (its providers are declared inside router_config.yaml).
pub const BUILTIN_PROVIDERS: &str = include_str!("../../config/providers.yaml");

/// Load, interpolate, override and validate both files; every problem is reported at once.
pub fn load_config(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let secrets = match envfile::read(&source.dir) {
        Ok(secrets) => secrets,
        Err(e) => {
            let file = display(&envfile::path_in(&source.dir));
            errors.push(ConfigError::new(&file, "", format!("cannot read: {e}")));
            Default::default()
        }
    };
    if envfile::is_shared(&source.dir) {
        warnings.push(format!(
            "{} can be read by other users; run chmod 600 on it",
            display(&envfile::path_in(&source.dir))
        ));
    }
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| secrets.get(name).cloned())
    };
    let mut unset = Vec::new();

    let router_path = source.router_path();
    let mut legacy_providers = BTreeMap::new();
    let mut router_errors = Vec::new();
    let router = read_yaml_file(&router_path, &lookup, &mut unset, &mut router_errors).and_then(
        |(text, mut value, file)| {
            let translation = legacy::translate(&mut value);
            for note in &translation.notes {
                let line = line_of(&text, &segments(&note.key_path));
                let at = line.map_or(String::new(), |l| format!(":{l}"));
                warnings.push(format!("{file}{at}: {}", note.text()));
            }
            legacy_providers = translation.providers;
            with_env_overrides(&file, &text, value, &mut router_errors)
        },
    );

    let providers_path = source.providers_path();
    let mut providers_unset = Vec::new();
    let providers: Option<RawProvidersFile> =
        if !providers_path.exists() && !legacy_providers.is_empty() {
            warnings.push(format!(
                "{} not found: using the built-in provider list with the providers of {}",
                display(&providers_path),
                display(&router_path)
            ));
            serde_yaml::from_str(BUILTIN_PROVIDERS).ok()
        } else {
            read_yaml_file(&providers_path, &lookup, &mut providers_unset, &mut errors)
                .and_then(|(text, value, file)| typed_collecting(&file, &text, value, &mut errors))
        };
    // A `${VAR}` in providers.yaml has nothing to disable: it is an error there.
    for missing in &providers_unset {
        errors.push(unset_error(&display(&providers_path), missing));
    }
    errors.append(&mut router_errors);

    let (Some(mut providers), Some(router)) = (providers, router) else {
        return Err(ConfigErrors(errors));
    };
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    providers.providers.extend(legacy_providers);
    let mut config = validate(
        router,
        providers,
        &unset,
        &display(&router_path),
        &display(&providers_path),
    )?;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn unset_error(file: &str, missing: &UnsetVariable) -> ConfigError {
    ConfigError::new(
        file,
        missing.key_path.clone(),
        format!(
            "environment variable {} is not set (use ${{{}:-default}} for a fallback)",
            missing.variable, missing.variable
        ),
    )
}

/// Parse, interpolate and type-check one file. Returns the raw text, the interpolated tree and
/// the file's display name; errors are pushed.
fn read_yaml_file(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<UnsetVariable>,
    errors: &mut Vec<ConfigError>,
) -> Option<(String, Value, String)> {
    let file = display(path);
    let text = match super::file::read_text(path) {
        Ok(text) => text,
        Err(e) => {
            errors.push(ConfigError::new(&file, "", format!("cannot read: {e}")));
            return None;
        }
    };
    let mut value = match serde_yaml::from_str::<Value>(&text) {
        // Empty, or only comments: never a config (a file caught between truncate and write,
        // applied, would turn auth off and drop every channel).
        Ok(Value::Null) => {
            errors.push(ConfigError::new(
                &file,
                "",
                "the file is empty (or only comments): write the configuration into it (a reload keeps the running config)",
            ));
            return None;
        }
        Ok(value) => value,
        Err(e) => {
            errors.push(yaml_error(&file, &e));
            return None;
        }
    };
    let mut interpolation_errors = Vec::new();
    interpolate_tree(&mut value, lookup, unset, &mut interpolation_errors);
    errors.extend(
        interpolation_errors
            .into_iter()
            .map(|e| ConfigError::new(&file, e.key_path, e.message)),
    );
    Some((text, value, file))
}

fn yaml_error(file: &str, error: &serde_yaml::Error) -> ConfigError {
    let message = strip_location(&error.to_string());
    // serde_yaml writes `path: message`; split the path off so it reads like our other errors.
    let (key_path, message) = match message.split_once(": ") {
        Some((path, rest)) if looks_like_key_path(path) => (path.to_string(), rest.to_string()),
        _ => (String::new(), message.to_string()),
    };
    ConfigError {
        file: file.to_string(),
        key_path,
        line: error.location().map(|l| l.line()),
        message,
    }
}

fn looks_like_key_path(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(' ')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.[]".contains(c))
}

/// Merge `SAR_*__*` environment variables over the file and type the result.
fn with_env_overrides(
    file: &str,
    text: &str,
    value: Value,
    errors: &mut Vec<ConfigError>,
) -> Option<RawRouterConfig> {
    // Type the file alone first, so its own mistakes are all reported, with their lines.
    typed_collecting::<RawRouterConfig>(file, text, value.clone(), errors)?;
    let env = Env::prefixed("SAR_")
        .filter(|key| key.as_str().contains("__"))
        .split("__");
    let figment = Figment::from(Serialized::defaults(value)).merge(env);
    match figment.extract::<RawRouterConfig>() {
        Ok(raw) => Some(raw),
        Err(error) => {
            for e in error {
                let variable = format!("SAR_{}", e.path.join("__").to_ascii_uppercase());
                // Blame the environment only when it set this key (or something under it).
                let blamed = if env_sets(&variable) {
                    format!("environment ({variable})")
                } else {
                    file.to_string()
                };
                errors.push(ConfigError::new(
                    &blamed,
                    e.path.join("."),
                    e.kind.to_string(),
                ));
            }
            None
        }
    }
}

/// Whether an override variable `variable`, or one below it (`variable__...`), is set.
fn env_sets(variable: &str) -> bool {
    let below = format!("{variable}__");
    std::env::vars_os().any(|(name, _)| {
        name.to_str().is_some_and(|n| {
            n.eq_ignore_ascii_case(variable) || n.to_ascii_uppercase().starts_with(&below)
        })
    })
}

//! Reading the two config files: YAML, `${VAR}` interpolation, `SAR_` overrides (figment).
//!
//! Order, per SPEC §2: each file is parsed as YAML (syntax errors carry their line), strings are
//! interpolated, the result is typed once against the raw structs straight from the text (so
//! unknown keys and type errors carry their line), then `router_config.yaml` goes through figment
//! with the environment merged on top (`SAR_SERVER__PORT=8080`). Only variables with `__` in their
//! name are overrides; `SAR_LOG` and the like are left alone. Overrides reach the map sections
//! (server, auth, routing, discovery, usage, cost_control); channels are a list and take their
//! values from `${VAR}`. Interpolation applies to string values only: numbers come from `SAR_`.
//! This module reads files and the environment, and never decides whether a value is good:
//! that is `validate`.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Serialized};
use figment::Figment;
use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::error::{ConfigError, ConfigErrors};
use super::interpolate::{interpolate_tree, UnsetVariable};
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

/// Load, interpolate, override and validate both files; every problem is reported at once.
pub fn load_config(source: &ConfigSource) -> Result<Config, ConfigErrors> {
    let lookup = |name: &str| std::env::var(name).ok();
    let mut errors = Vec::new();
    let mut unset = Vec::new();

    let providers_path = source.providers_path();
    let providers: Option<RawProvidersFile> =
        read_yaml_file(&providers_path, &lookup, &mut unset, &mut errors)
            .and_then(|(text, value, file)| typed_from_value(&file, &text, value, &mut errors));
    // A `${VAR}` in providers.yaml has nothing to disable: it is an error there.
    for missing in unset.drain(..) {
        errors.push(unset_error(&display(&providers_path), &missing));
    }

    let router_path = source.router_path();
    let router = read_yaml_file(&router_path, &lookup, &mut unset, &mut errors)
        .and_then(|(text, value, file)| with_env_overrides(&file, &text, value, &mut errors));

    let (Some(providers), Some(router)) = (providers, router) else {
        return Err(ConfigErrors(errors));
    };
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    validate(
        router,
        providers,
        &unset,
        &display(&router_path),
        &display(&providers_path),
    )
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
    let text = match std::fs::read_to_string(path) {
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

/// Type the interpolated tree. When that fails, typing the raw text usually fails the same
/// way (a typo, a wrong type) and says where: serde_yaml gives a line only from text. A value
/// that only fails after interpolation is reported without a line.
fn typed_from_value<T: DeserializeOwned>(
    file: &str,
    text: &str,
    value: Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    match serde_yaml::from_value::<T>(value) {
        Ok(typed) => Some(typed),
        Err(from_value) => {
            let error = serde_yaml::from_str::<T>(text).err().unwrap_or(from_value);
            errors.push(yaml_error(file, &error));
            None
        }
    }
}

/// Remove serde_yaml's ` at line N column M` from a message (the line is reported separately).
fn strip_location(message: &str) -> String {
    let Some(at) = message.find(" at line ") else {
        return message.to_string();
    };
    let rest = &message[at + " at line ".len()..];
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let line_len = digits(rest);
    let after_line = &rest[line_len..];
    let tail = match after_line.strip_prefix(" column ") {
        Some(col) => &col[digits(col)..],
        None => after_line,
    };
    format!("{}{}", &message[..at], tail)
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
    // Type the file alone first, so its own mistakes are reported with their line.
    typed_from_value::<RawRouterConfig>(file, text, value.clone(), errors)?;
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

//! `migrate --from OLD --to NEW`: the original router's config directory, rewritten in this
//! gateway's format.
//!
//! The old `router_config.yaml` is read as written (no `${VAR}` is resolved), translated by
//! `legacy`, and written to NEW with a comment per section and the migration notes at the top.
//! Literal API keys move to NEW/secrets.env (0600) and become `${SAR_KEY_<CHANNEL>}`. The
//! providers are the old providers.yaml when it is in this format, else the shipped list, plus
//! the providers declared inside the old router config. NEW must not already hold a
//! router_config.yaml: migrating never overwrites.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::envfile;
use super::legacy;
use super::load::BUILTIN_PROVIDERS;
use super::raw::RawProvidersFile;
use super::write::{providers_yaml, router_yaml, shipped_legend};

/// What a migration did.
#[derive(Debug, Default)]
pub struct MigrateReport {
    pub written: Vec<PathBuf>,
    /// Keys moved to secrets.env.
    pub keys_moved: usize,
    /// One line per legacy key: what it became.
    pub notes: Vec<String>,
}

pub fn migrate(from: &Path, to: &Path) -> Result<MigrateReport, String> {
    let old_router = from.join("router_config.yaml");
    let text = std::fs::read_to_string(&old_router)
        .map_err(|e| format!("cannot read {}: {e}", old_router.display()))?;
    let mut value: Value = serde_yaml::from_str(&text)
        .map_err(|e| format!("{} is not YAML: {e}", old_router.display()))?;
    let new_router = to.join("router_config.yaml");
    if new_router.exists() {
        return Err(format!(
            "{} already exists; migrate into an empty directory",
            new_router.display()
        ));
    }
    let translation = legacy::translate(&mut value);
    let notes: Vec<String> = translation
        .notes
        .iter()
        .map(legacy::LegacyNote::text)
        .collect();
    let Value::Mapping(mut root) = value else {
        return Err(format!(
            "{} is not a mapping of sections",
            old_router.display()
        ));
    };
    let secrets = move_keys(&mut root);

    let mut providers = old_providers(from);
    providers.providers.extend(translation.providers);

    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut report = MigrateReport {
        keys_moved: secrets.len(),
        notes,
        ..MigrateReport::default()
    };
    if !secrets.is_empty() {
        envfile::merge(to, &secrets)
            .map_err(|e| format!("cannot write {}: {e}", envfile::path_in(to).display()))?;
        report.written.push(envfile::path_in(to));
    }
    let mut header = vec![
        format!(
            "Migrated from {} by `smart-ai-router migrate`.",
            old_router.display()
        ),
        "What became of the original router's keys:".to_string(),
    ];
    header.extend(report.notes.iter().map(|n| format!("  - {n}")));
    header.push("The full reference is docs/config.md.".into());
    write(&new_router, &router_yaml(&header, &root))?;
    report.written.push(new_router);

    let providers_path = to.join("providers.yaml");
    let legend = shipped_legend(BUILTIN_PROVIDERS);
    let header = vec![format!(
        "Provider kinds, written by `smart-ai-router migrate` from {}.",
        from.display()
    )];
    write(
        &providers_path,
        &providers_yaml(&header, &legend, &providers.providers),
    )?;
    report.written.push(providers_path);
    Ok(report)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The old directory's providers.yaml when it is in this format; else the shipped list.
fn old_providers(from: &Path) -> RawProvidersFile {
    std::fs::read_to_string(from.join("providers.yaml"))
        .ok()
        .and_then(|text| serde_yaml::from_str::<RawProvidersFile>(&text).ok())
        .filter(|p| !p.providers.is_empty())
        .or_else(|| serde_yaml::from_str(BUILTIN_PROVIDERS).ok())
        .unwrap_or_default()
}

/// Replace every literal channel key with `${SAR_KEY_<ID>}`; returns the variables.
fn move_keys(root: &mut Mapping) -> BTreeMap<String, String> {
    let mut secrets = BTreeMap::new();
    let Some(Value::Sequence(channels)) = root.get_mut("channels") else {
        return secrets;
    };
    for channel in channels.iter_mut().filter_map(Value::as_mapping_mut) {
        let id = channel
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("channel");
        let variable = envfile::key_variable(id);
        let Some(key) = channel.get("api_key").and_then(Value::as_str) else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains("${") {
            continue;
        }
        secrets.insert(variable.clone(), key.to_string());
        channel.insert(
            Value::from("api_key"),
            Value::from(format!("${{{variable}}}")),
        );
    }
    secrets
}

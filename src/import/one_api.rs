//! `import one-api --db PATH --config-dir DIR`: the `channels` table of a One-API or New-API
//! SQLite database, as channels of DIR's router_config.yaml.
//!
//! Rules decided here:
//! - The flavour is New-API when the table has New-API's own columns (`tag`, `channel_info`
//!   or `settings`), else One-API; the type table differs between them (`one_api_types`).
//! - A row becomes channel `<oneapi|newapi>_<id>`: `name`, `type` → provider, `base_url`
//!   (kept unless it is the source's default for the type; `/v1` added as the source did),
//!   `models` (comma list) → `configured_models`, `model_mapping` (JSON, requested → upstream
//!   name) → `model_aliases`, `status` ≠ 1 → `enabled: false`, `priority` → `priority`,
//!   `group` (other than `default`) and `tag` → tags. `weight` has no meaning here (noted).
//! - The key (the first line of a multi-key channel) goes to DIR/secrets.env as
//!   `SAR_KEY_<CHANNEL_ID>`; the YAML gets `${SAR_KEY_...}`.
//! - DIR/router_config.yaml is created when absent; when present, channels with the same id
//!   are replaced, others kept, and the old file is saved as router_config.yaml.bak.
//!   DIR/providers.yaml is the shipped list when absent; a generic `openai_compatible`
//!   provider is added when a row needs it.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde_yaml::{Mapping, Value};

use super::one_api_types::{provider_of, Flavour, OPENAI_COMPATIBLE};
use crate::config::envfile;
use crate::config::interpolate::literal;
use crate::config::legacy::with_version;
use crate::config::raw::{AuthStyle, RawProvider, RawProvidersFile, WireFormat};
use crate::config::write::{providers_yaml, router_yaml, shipped_legend};
use crate::config::BUILTIN_PROVIDERS;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub flavour: &'static str,
    pub channels: usize,
    pub disabled: usize,
    pub keys: usize,
    pub notes: Vec<String>,
}

/// One row of the `channels` table, as read.
#[derive(Debug, Default)]
struct Row {
    id: i64,
    channel_type: i64,
    name: String,
    /// `None` when the source's bytes are not UTF-8 text (no key can be made of them).
    key: Option<String>,
    base_url: String,
    models: String,
    model_mapping: String,
    status: i64,
    priority: i64,
    weight: i64,
    group: String,
    tag: String,
}

pub fn import(db: &Path, dir: &Path) -> Result<ImportReport, String> {
    let (flavour, rows, unreadable) = read_rows(db)?;
    let mut report = ImportReport {
        flavour: flavour.name(),
        notes: unreadable,
        ..ImportReport::default()
    };
    let mut secrets = BTreeMap::new();
    let mut channels = Vec::new();
    let mut needs_generic: Option<String> = None;
    for row in &rows {
        let Some(channel) = channel_of(flavour, row, &mut secrets, &mut report, &mut needs_generic)
        else {
            continue;
        };
        channels.push(channel);
    }
    report.keys = secrets.len();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if !secrets.is_empty() {
        envfile::merge(dir, &secrets)
            .map_err(|e| format!("cannot write {}: {e}", envfile::path_in(dir).display()))?;
    }
    write_providers(dir, needs_generic.as_deref())?;
    write_router(dir, db, flavour, channels)?;
    Ok(report)
}

/// The channels of `db`, and a note for each row that could not be read (skipped). A value of
/// an unexpected type is read as well as it can be: a number written as text is a number,
/// text that is not UTF-8 is read with U+FFFD for what is not (a key is then left out).
fn read_rows(db: &Path) -> Result<(Flavour, Vec<Row>, Vec<String>), String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let columns = columns(&conn).map_err(|e| format!("cannot read {}: {e}", db.display()))?;
    if columns.is_empty() {
        return Err(format!(
            "{} has no `channels` table: is it a One-API or New-API database?",
            db.display()
        ));
    }
    let has = |c: &str| columns.iter().any(|x| x == c);
    let flavour = if has("tag") || has("channel_info") || has("settings") {
        Flavour::NewApi
    } else {
        Flavour::OneApi
    };
    let text = |c: &str| {
        if has(c) {
            format!("COALESCE(\"{c}\", '')")
        } else {
            "''".into()
        }
    };
    // `CAST` makes `'1'` a 1 and `'x'` a 0, where reading the column as a number would fail.
    let number = |c: &str| {
        if has(c) {
            format!("COALESCE(CAST(\"{c}\" AS INTEGER), 0)")
        } else {
            "0".into()
        }
    };
    let sql = format!(
        "SELECT CAST(id AS INTEGER), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM channels ORDER BY id",
        number("type"),
        text("name"),
        text("key"),
        text("base_url"),
        text("models"),
        text("model_mapping"),
        number("status"),
        number("priority"),
        number("weight"),
        text("group"),
        text("tag"),
    );
    let read = || -> rusqlite::Result<(Vec<Row>, Vec<String>)> {
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                channel_type: r.get(1)?,
                name: lossy_text(r, 2)?,
                key: String::from_utf8(text_bytes(r, 3)?).ok(),
                base_url: lossy_text(r, 4)?,
                models: lossy_text(r, 5)?,
                model_mapping: lossy_text(r, 6)?,
                status: r.get(7)?,
                priority: r.get(8)?,
                weight: r.get(9)?,
                group: lossy_text(r, 10)?,
                tag: lossy_text(r, 11)?,
            })
        })?;
        let (mut read, mut unreadable) = (Vec::new(), Vec::new());
        for (n, row) in rows.enumerate() {
            match row {
                Ok(row) => read.push(row),
                Err(e) => unreadable.push(format!("row {}: cannot be read ({e}); skipped", n + 1)),
            }
        }
        Ok((read, unreadable))
    };
    let (rows, unreadable) =
        read().map_err(|e| format!("cannot read the channels of {}: {e}", db.display()))?;
    Ok((flavour, rows, unreadable))
}

/// Column `i` as bytes, whatever SQLite stored (text, a blob, a number).
fn text_bytes(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes.to_vec(),
        ValueRef::Integer(n) => n.to_string().into_bytes(),
        ValueRef::Real(x) => x.to_string().into_bytes(),
        ValueRef::Null => Vec::new(),
    })
}

/// Column `i` as text, U+FFFD for bytes that are not UTF-8.
fn lossy_text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(String::from_utf8_lossy(&text_bytes(r, i)?).into_owned())
}

fn columns(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info('channels')")?;
    let names = statement.query_map([], |r| r.get::<_, String>(0))?;
    names.collect()
}

fn channel_of(
    flavour: Flavour,
    row: &Row,
    secrets: &mut BTreeMap<String, String>,
    report: &mut ImportReport,
    needs_generic: &mut Option<String>,
) -> Option<Value> {
    let id = format!("{}_{}", flavour.id_prefix(), row.id);
    let base_url = row.base_url.trim();
    let known = provider_of(flavour, row.channel_type);
    let (provider, own_base) = match known {
        Some(k) if base_url.is_empty() || base_url.trim_end_matches('/') == k.default_base_url => {
            (k.provider, None)
        }
        Some(k) => (k.provider, Some(with_version(base_url))),
        None if !base_url.is_empty() => {
            needs_generic.get_or_insert_with(|| with_version(base_url));
            (OPENAI_COMPATIBLE, Some(with_version(base_url)))
        }
        None => {
            report.notes.push(format!(
                "row {} ({:?}): type {} has no provider here and no base_url; skipped",
                row.id, row.name, row.channel_type
            ));
            return None;
        }
    };
    let mut channel = Mapping::new();
    // Text from the database is written literally (`literal_strings`): a `${VAR}` in a name
    // or a URL must not read another variable (another channel's key) when the config loads.
    let mut put = |k: &str, v: Value| {
        channel.insert(Value::from(k), v);
    };
    put("id", Value::from(id.clone()));
    put(
        "name",
        literal_strings(Value::from(non_empty(&row.name, &id))),
    );
    put("provider", Value::from(provider));
    if let Some(url) = own_base {
        put("base_url", literal_strings(Value::from(url)));
    }
    if row.key.is_none() {
        report.notes.push(format!(
            "{id}: its key is not UTF-8 text; imported without a key"
        ));
    }
    let keys: Vec<&str> = row
        .key
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if let Some(first) = keys.first() {
        let variable = envfile::key_variable(&id);
        secrets.insert(variable.clone(), (*first).to_string());
        put("api_key", Value::from(format!("${{{variable}}}")));
        if keys.len() > 1 {
            report.notes.push(format!(
                "{id}: {} keys in the source; the first is imported",
                keys.len()
            ));
        }
    }
    if row.status != 1 {
        report.disabled += 1;
        put("enabled", Value::from(false));
    }
    let tags = tags_of(row);
    if !tags.is_empty() {
        put(
            "tags",
            literal_strings(Value::Sequence(tags.into_iter().map(Value::from).collect())),
        );
    }
    let models: Vec<Value> = row
        .models
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(Value::from)
        .collect();
    if !models.is_empty() {
        put(
            "configured_models",
            literal_strings(Value::Sequence(models)),
        );
    }
    match aliases_of(&row.model_mapping) {
        Ok(aliases) if !aliases.is_empty() => {
            put("model_aliases", literal_strings(Value::Mapping(aliases)))
        }
        Ok(_) => {}
        Err(e) => report.notes.push(format!(
            "{id}: model_mapping is not a JSON object ({e}); left out"
        )),
    }
    if row.priority != 0 {
        put(
            "priority",
            Value::from(row.priority.clamp(-1_000_000, 1_000_000)),
        );
    }
    if row.weight != 0 && !report.notes.iter().any(|n| n.starts_with("weight")) {
        report.notes.push(
            "weight: ignored (candidates are ranked by the routing strategy; priority is kept)"
                .into(),
        );
    }
    report.channels += 1;
    Some(Value::Mapping(channel))
}

/// `value` with every string value made [`literal`] (mapping keys are never interpolated).
fn literal_strings(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(literal(&text)),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(literal_strings).collect()),
        Value::Mapping(entries) => Value::Mapping(
            entries
                .into_iter()
                .map(|(k, v)| (k, literal_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

fn non_empty(text: &str, fallback: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        fallback.to_string()
    } else {
        text.to_string()
    }
}

/// `group` (comma list, `default` left out) and New-API's `tag`, as usable tags.
fn tags_of(row: &Row) -> Vec<String> {
    let mut tags = Vec::new();
    let words = row
        .group
        .split(',')
        .chain(std::iter::once(row.tag.as_str()));
    for word in words {
        let tag: String = word
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if !tag.is_empty() && tag != "default" && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// `{"gpt-4o": "gpt-4o-2024-08-06"}`: requested name → the upstream's.
fn aliases_of(mapping: &str) -> Result<Mapping, String> {
    let mapping = mapping.trim();
    if mapping.is_empty() || mapping == "{}" || mapping == "null" {
        return Ok(Mapping::new());
    }
    let parsed: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(mapping).map_err(|e| e.to_string())?;
    Ok(parsed
        .into_iter()
        .filter_map(|(from, to)| {
            let to = to.as_str()?.trim().to_string();
            (!from.trim().is_empty() && !to.is_empty())
                .then(|| (Value::from(from.trim()), Value::from(to)))
        })
        .collect())
}

fn write_providers(dir: &Path, generic_base: Option<&str>) -> Result<(), String> {
    let path = dir.join("providers.yaml");
    let existing = std::fs::read_to_string(&path).ok();
    let mut providers: RawProvidersFile = match &existing {
        Some(text) => serde_yaml::from_str(text)
            .map_err(|e| format!("{} does not load: {e}", path.display()))?,
        None => serde_yaml::from_str(BUILTIN_PROVIDERS).unwrap_or_default(),
    };
    let adds_generic = match generic_base {
        Some(base) if !providers.providers.contains_key(OPENAI_COMPATIBLE) => {
            providers
                .providers
                .insert(OPENAI_COMPATIBLE.into(), generic(&literal(base)));
            true
        }
        _ => false,
    };
    if existing.is_some() && !adds_generic {
        return Ok(());
    }
    if existing.is_none() && !adds_generic {
        return std::fs::write(&path, BUILTIN_PROVIDERS)
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
    }
    if let Some(text) = &existing {
        backup(&path, text)?;
    }
    let header =
        vec!["Provider kinds (openai_compatible added by `smart-ai-router import`).".into()];
    let text = providers_yaml(
        &header,
        &shipped_legend(BUILTIN_PROVIDERS),
        &providers.providers,
    );
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn generic(base_url: &str) -> RawProvider {
    RawProvider {
        base_url: base_url.to_string(),
        auth: AuthStyle::Bearer,
        models_endpoint: None,
        format: WireFormat::Openai,
        is_local: false,
        name: Some("OpenAI-compatible".into()),
        limits: None,
        model_limits: Default::default(),
        responses: false,
        headers: BTreeMap::new(),
    }
}

fn backup(path: &Path, text: &str) -> Result<(), String> {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    std::fs::write(&name, text).map_err(|e| format!("cannot back up {}: {e}", path.display()))
}

fn write_router(
    dir: &Path,
    db: &Path,
    flavour: Flavour,
    imported: Vec<Value>,
) -> Result<(), String> {
    let path = dir.join("router_config.yaml");
    let existing = std::fs::read_to_string(&path).ok();
    let mut root = match &existing {
        Some(text) => match serde_yaml::from_str::<Value>(text) {
            Ok(Value::Mapping(map)) => map,
            Ok(Value::Null) => Mapping::new(),
            _ => {
                return Err(format!(
                    "{} is not a YAML mapping; not merging",
                    path.display()
                ))
            }
        },
        None => Mapping::new(),
    };
    let id_of = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_string);
    let new_ids: Vec<Option<String>> = imported.iter().map(id_of).collect();
    let channels = root
        .entry(Value::from("channels"))
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if !channels.is_sequence() {
        *channels = Value::Sequence(Vec::new());
    }
    if let Value::Sequence(list) = channels {
        list.retain(|c| !new_ids.contains(&id_of(c)));
        list.extend(imported);
    }
    if let Some(text) = &existing {
        backup(&path, text)?;
    }
    let header = vec![
        format!(
            "Channels imported from the {} database {} by `smart-ai-router import one-api`.",
            flavour.name(),
            db.display()
        ),
        "Keys are in secrets.env (mode 0600), referenced here as ${VAR}.".into(),
        "The full reference is docs/config.md.".into(),
    ];
    std::fs::write(&path, router_yaml(&header, &root))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

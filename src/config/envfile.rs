//! `secrets.env` in the config directory: API keys kept out of the YAML files.
//!
//! `import` and `migrate` write keys here (mode 0600) and reference them from
//! `router_config.yaml` as `${VAR}`; loading reads the file so `${VAR}` resolves without the
//! variable being exported. A variable set in the process environment wins over the file.
//! Format: `NAME=value` lines, `#` comments, blank lines; a value may be wrapped in single or
//! double quotes. This module never logs or prints a value.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name inside the config directory.
pub const FILE_NAME: &str = "secrets.env";

pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The variables of `dir/secrets.env`; empty when there is no such file.
pub fn read(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    match super::file::read_text(&path_in(dir)) {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

fn parse(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let unquoted = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close))
            .unwrap_or(value);
        vars.insert(name.trim().to_string(), unquoted.to_string());
    }
    vars
}

/// Add (or replace) variables in `dir/secrets.env`, keeping the others; the file is written
/// with mode 0600 on unix.
pub fn merge(dir: &Path, new: &BTreeMap<String, String>) -> std::io::Result<()> {
    let mut vars = read(dir)?;
    vars.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut text = String::from(
        "# API keys referenced from router_config.yaml as ${NAME}. Keep this file private (0600).\n",
    );
    for (name, value) in &vars {
        text.push_str(&format!("{name}={}\n", quote(value)));
    }
    let path = path_in(dir);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())
}

fn quote(value: &str) -> String {
    if value.contains(|c: char| c.is_whitespace() || c == '#' || c == '"') {
        format!("'{value}'")
    } else {
        value.to_string()
    }
}

/// A variable name for a channel's key: `SAR_KEY_` + the id in upper case, other characters
/// as `_`.
pub fn key_variable(channel_id: &str) -> String {
    let id: String = channel_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SAR_KEY_{id}")
}

/// Whether the file can be read by others than its owner (unix); loading warns then.
pub fn is_shared(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path_in(dir)) {
            return meta.permissions().mode() & 0o077 != 0;
        }
    }
    let _ = dir;
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_quotes() {
        let vars = parse("# c\n\nA=1\nexport B = 'two words'\nC=\"x\"\nbad line\n");
        assert_eq!(vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(vars.get("B").map(String::as_str), Some("two words"));
        assert_eq!(vars.get("C").map(String::as_str), Some("x"));
        assert_eq!(vars.len(), 3);
        assert_eq!(key_variable("one-api.7"), "SAR_KEY_ONE_API_7");
    }
}

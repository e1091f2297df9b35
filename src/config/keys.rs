//! Typing a config file while reporting every unknown key and type error of it at once.
//!
//! serde stops at the first unknown key or wrong type of a file. Here the value tree is typed
//! in a loop: each error is recorded (file, key path, line, and for an unknown key or variant
//! the closest valid name), the offending key is taken out of the tree or its value replaced
//! by a neutral stand-in, and typing starts again, until it succeeds or the loop bound is hit.
//! Errors at a stand-in are never reported (they are consequences, not findings). The line
//! comes from the file's text (`locate`). The raw structs keep `deny_unknown_fields`, so the
//! key sets are serde's own and never drift from `raw.rs`.

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::error::ConfigError;
use super::locate::{line_of, Segment};

/// At most this many problems are collected per file.
const MAX_ROUNDS: usize = 200;

/// Type `value` as `T`; every problem is pushed to `errors`, and `None` returned when any.
pub fn typed_collecting<T: DeserializeOwned>(
    file: &str,
    text: &str,
    mut value: Value,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let mut found = 0usize;
    let mut stand_ins: Vec<(Vec<Segment>, usize)> = Vec::new();
    // Keys suggested for a typo: their absence is the same finding, not another one.
    let mut suggested: Vec<Vec<Segment>> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let error = match typed::<T>(&value) {
            Ok(typed) if found == 0 => return Some(typed),
            Ok(_) => return None,
            Err(error) => error,
        };
        let (path, message) = split_path(&error);
        let Some(problem) = Problem::read(&value, &path, &message) else {
            errors.push(ConfigError::new(file, path, message));
            return None;
        };
        let stand_in = stand_ins.iter().position(|(p, _)| *p == problem.at);
        let attempt = match stand_in {
            Some(i) => {
                stand_ins[i].1 += 1;
                stand_ins[i].1
            }
            None => {
                if let Some(key) = problem.suggestion() {
                    let mut at = problem.at.clone();
                    at.pop();
                    at.push(Segment::Key(key.to_string()));
                    suggested.push(at);
                }
                let repeated =
                    matches!(problem.kind, Kind::Missing { .. }) && suggested.contains(&problem.at);
                if !repeated && !problem.is_consequence(&stand_ins) {
                    found += 1;
                    errors.push(problem.error(file, text));
                }
                // A missing key cannot be removed: start with the first stand-in value.
                let first = usize::from(matches!(problem.kind, Kind::Missing { .. }));
                stand_ins.push((problem.at.clone(), first));
                first
            }
        };
        if !problem.repair(&mut value, attempt) {
            return None;
        }
    }
    None
}

fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    // Through text, so serde_yaml reports the key path of the error.
    let text = serde_yaml::to_string(value).map_err(|e| e.to_string())?;
    serde_yaml::from_str::<T>(&text).map_err(|e| strip_location(&e.to_string()))
}

/// Remove serde_yaml's ` at line N column M` (lines of the re-serialised text mean nothing).
pub fn strip_location(message: &str) -> String {
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

/// serde_yaml writes `path: message`; split the path off.
fn split_path(message: &str) -> (String, String) {
    match message.split_once(": ") {
        Some((path, rest)) if looks_like_key_path(path) => (path.to_string(), rest.to_string()),
        _ => (String::new(), message.to_string()),
    }
}

fn looks_like_key_path(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(' ')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.[]/:".contains(c))
}

/// What kind of error serde reported.
#[derive(Debug)]
enum Kind {
    UnknownKey { key: String, valid: Vec<String> },
    UnknownVariant { variant: String, valid: Vec<String> },
    Missing { key: String },
    Other { message: String },
}

/// One error, placed in the tree.
#[derive(Debug)]
struct Problem {
    /// The key (or item) the error is about.
    at: Vec<Segment>,
    kind: Kind,
}

impl Problem {
    fn read(value: &Value, path: &str, message: &str) -> Option<Self> {
        let parent = resolve(value, path)?;
        let with = |key: &str| {
            let mut at = parent.clone();
            at.push(Segment::Key(key.to_string()));
            at
        };
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let key = rest.split('`').next()?.to_string();
            let valid = backticked(rest.split_once("expected").map_or("", |(_, v)| v));
            return Some(Self {
                at: with(&key),
                kind: Kind::UnknownKey { key, valid },
            });
        }
        if let Some(rest) = message.strip_prefix("missing field `") {
            let key = rest.split('`').next()?.to_string();
            return Some(Self {
                at: with(&key),
                kind: Kind::Missing { key },
            });
        }
        if parent.is_empty() {
            return None;
        }
        if let Some(rest) = message.strip_prefix("unknown variant `") {
            let variant = rest.split('`').next()?.to_string();
            let valid = backticked(rest.split_once("expected").map_or("", |(_, v)| v));
            return Some(Self {
                at: parent,
                kind: Kind::UnknownVariant { variant, valid },
            });
        }
        Some(Self {
            at: parent,
            kind: Kind::Other {
                message: message.to_string(),
            },
        })
    }

    /// The valid key a typo most likely meant.
    fn suggestion(&self) -> Option<&str> {
        match &self.kind {
            Kind::UnknownKey { key, valid } => closest(key, valid),
            _ => None,
        }
    }

    /// A missing key that we removed ourselves (an earlier error's stand-in) is no finding.
    fn is_consequence(&self, stand_ins: &[(Vec<Segment>, usize)]) -> bool {
        stand_ins
            .iter()
            .any(|(p, _)| self.at.starts_with(p) || p.starts_with(&self.at))
    }

    fn error(&self, file: &str, text: &str) -> ConfigError {
        let message = match &self.kind {
            Kind::UnknownKey { key, valid } => match closest(key, valid) {
                Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
                None if valid.is_empty() => format!("unknown key `{key}`; no keys belong here"),
                None => format!("unknown key `{key}`; valid keys: {}", valid.join(", ")),
            },
            Kind::UnknownVariant { variant, valid } => match closest(variant, valid) {
                Some(best) => format!("unknown value `{variant}`; did you mean `{best}`?"),
                None => format!(
                    "unknown value `{variant}`; use one of: {}",
                    valid.join(", ")
                ),
            },
            Kind::Missing { key } => format!("missing key `{key}`"),
            Kind::Other { message } => message.clone(),
        };
        let (key_path, line_path) = match &self.kind {
            // A missing key is placed on its parent.
            Kind::Missing { .. } => (
                display(&self.at[..self.at.len() - 1]),
                &self.at[..self.at.len() - 1],
            ),
            _ => (display(&self.at), &self.at[..]),
        };
        ConfigError {
            file: file.to_string(),
            key_path,
            line: line_of(text, line_path),
            message,
        }
    }

    /// Take the key out (attempt 0) or put the attempt's stand-in value there; false when out
    /// of ideas.
    fn repair(&self, value: &mut Value, attempt: usize) -> bool {
        let Some((last, parent)) = self.at.split_last() else {
            return false;
        };
        let Some(parent) = navigate(value, parent) else {
            return false;
        };
        let stand_ins = [
            Value::Null,
            Value::String(String::new()),
            Value::Number(0.into()),
            Value::Bool(false),
            Value::Sequence(Vec::new()),
            Value::Mapping(Mapping::new()),
        ];
        match (parent, last) {
            (Value::Mapping(map), Segment::Key(key)) => {
                let key = Value::String(key.clone());
                if attempt == 0 {
                    map.remove(&key);
                    return true;
                }
                match stand_ins.get(attempt) {
                    Some(v) => {
                        map.insert(key, v.clone());
                        true
                    }
                    None => false,
                }
            }
            (Value::Sequence(items), Segment::Index(i)) if *i < items.len() => {
                match stand_ins.get(attempt.max(1)) {
                    Some(v) => {
                        items[*i] = v.clone();
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The dotted form of a path: `channels[2].pricing`.
pub fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Follow serde's dotted path through the tree, so keys that contain dots still match.
fn resolve(value: &Value, path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut node = value;
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(after) = rest.strip_prefix('[') {
            let (index, tail) = after.split_once(']')?;
            let index: usize = index.parse().ok()?;
            node = node.as_sequence()?.get(index)?;
            segments.push(Segment::Index(index));
            rest = tail;
            continue;
        }
        let map = node.as_mapping()?;
        let key = map
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| {
                rest.starts_with(k)
                    && matches!(rest.as_bytes().get(k.len()), None | Some(b'.') | Some(b'['))
            })
            .max_by_key(|k| k.len())?
            .to_string();
        node = map.get(key.as_str())?;
        rest = &rest[key.len()..];
        segments.push(Segment::Key(key));
    }
    Some(segments)
}

fn navigate<'v>(value: &'v mut Value, path: &[Segment]) -> Option<&'v mut Value> {
    let mut node = value;
    for segment in path {
        node = match segment {
            Segment::Key(key) => node.as_mapping_mut()?.get_mut(key.as_str())?,
            Segment::Index(i) => node.as_sequence_mut()?.get_mut(*i)?,
        };
    }
    Some(node)
}

/// The valid name nearest to `name` when it is near enough to be a likely typo.
pub fn closest<'a>(name: &str, valid: &'a [String]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    valid
        .iter()
        .map(|v| (edit_distance(&name, &v.to_ascii_lowercase()), v))
        .filter(|(d, v)| *d <= (v.len().max(name.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_nearest_valid_key() {
        let valid: Vec<String> = ["host", "port", "max_body_bytes", "workers"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("hots", &valid), Some("host"));
        assert_eq!(closest("max_body_byte", &valid), Some("max_body_bytes"));
        assert_eq!(closest("Port", &valid), Some("port"));
        assert_eq!(closest("cors_origins", &valid), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

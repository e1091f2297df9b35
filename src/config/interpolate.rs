//! `${VAR}` and `${VAR:-default}` in configuration strings (docs/config.md).
//!
//! Interpolation runs on every string scalar of the parsed YAML tree, before typing, so a
//! variable can never inject YAML syntax. `$${` writes a literal `${`. A variable that is unset
//! (and has no default) becomes the empty string and is reported with the key path where it was
//! used, so the loader can disable the channel that needed it instead of failing. A variable set
//! to the empty string counts as set for `${VAR}` and as unset for `${VAR:-default}` (the shell's
//! rule). This module reads the environment through a lookup function, never directly, so tests
//! do not touch the process environment.

use serde_yaml::Value;

/// A `${VAR}` that had no value, and the key path it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    pub variable: String,
    pub key_path: String,
}

/// A malformed `${...}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub key_path: String,
    pub message: String,
}

/// Interpolate every string in `value` in place.
pub fn interpolate_tree(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<UnsetVariable>,
    errors: &mut Vec<InterpolationError>,
) {
    walk(value, String::new(), lookup, unset, errors);
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<UnsetVariable>,
    errors: &mut Vec<InterpolationError>,
) {
    match value {
        Value::String(text) => {
            if !text.contains('$') {
                return;
            }
            match interpolate_str(text, lookup) {
                Ok((result, missing)) => {
                    *text = result;
                    unset.extend(missing.into_iter().map(|variable| UnsetVariable {
                        variable,
                        key_path: path.clone(),
                    }));
                }
                Err(message) => errors.push(InterpolationError {
                    key_path: path,
                    message,
                }),
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), lookup, unset, errors);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = match key {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(item, child, lookup, unset, errors);
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, path, lookup, unset, errors),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Interpolate one string: the result and the names of unset variables it used.
pub fn interpolate_str(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), String> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.push_str("${");
            rest = literal;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(format!("unclosed `${{` in {text:?}"));
        };
        let expr = &body_start[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expr, None),
        };
        if !is_variable_name(name) {
            return Err(format!(
                "`${{{expr}}}` is not a variable reference: names are letters, digits and `_`"
            ));
        }
        match (lookup(name), default) {
            (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => missing.push(name.to_string()),
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok((out, missing))
}

/// `text` written so that interpolation gives it back as it is: every `${` becomes `$${`.
/// For text from elsewhere (an imported database) written into a config file.
pub fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<(String, Vec<String>), String> {
        interpolate_str(text, &env)
    }

    #[test]
    fn literal_text_comes_back_as_it_was() {
        for text in [
            "${KEY}",
            "http://h/${KEY}/v1",
            "$${KEY}",
            "$$${",
            "$",
            "a$b{c}",
            "${",
        ] {
            assert_eq!(
                run(&literal(text)),
                Ok((text.to_string(), vec![])),
                "{text}"
            );
        }
    }

    #[test]
    fn substitutes_set_variables() {
        assert_eq!(run("${KEY}"), Ok(("sk-123".into(), vec![])));
        assert_eq!(run("Bearer ${KEY}!"), Ok(("Bearer sk-123!".into(), vec![])));
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(run("${NOPE:-x}"), Ok(("x".into(), vec![])));
        assert_eq!(run("${EMPTY:-x}"), Ok(("x".into(), vec![])));
        assert_eq!(run("${EMPTY}"), Ok((String::new(), vec![])));
        assert_eq!(run("${KEY:-x}"), Ok(("sk-123".into(), vec![])));
        assert_eq!(run("${NOPE:-}"), Ok((String::new(), vec![])));
    }

    #[test]
    fn reports_unset_variables() {
        assert_eq!(run("${NOPE}"), Ok((String::new(), vec!["NOPE".into()])));
        assert_eq!(
            run("${A1}-${B_2}"),
            Ok(("-".into(), vec!["A1".into(), "B_2".into()]))
        );
    }

    #[test]
    fn leaves_plain_dollars_and_escapes() {
        assert_eq!(run("cost $5"), Ok(("cost $5".into(), vec![])));
        assert_eq!(run("$${KEY}"), Ok(("${KEY}".into(), vec![])));
        assert_eq!(run("end$"), Ok(("end$".into(), vec![])));
    }

    #[test]
    fn rejects_malformed_expressions() {
        assert_eq!(run("${KEY"), Err("unclosed `${` in \"${KEY\"".into()));
        assert_eq!(
            run("${1X}"),
            Err("`${1X}` is not a variable reference: names are letters, digits and `_`".into())
        );
    }

    #[test]
    fn walks_the_tree_with_key_paths() {
        let mut tree: Value = serde_yaml::from_str(
            "channels:\n  - id: a\n    api_key: ${NOPE}\n  - id: b\n    api_key: ${KEY}\n",
        )
        .unwrap_or(Value::Null);
        let (mut unset, mut errors) = (Vec::new(), Vec::new());
        interpolate_tree(&mut tree, &env, &mut unset, &mut errors);
        assert_eq!(
            unset,
            vec![UnsetVariable {
                variable: "NOPE".into(),
                key_path: "channels[0].api_key".into()
            }]
        );
        assert!(errors.is_empty());
        assert_eq!(tree["channels"][1]["api_key"].as_str(), Some("sk-123"));
    }
}

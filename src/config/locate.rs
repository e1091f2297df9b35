//! The line of a key path in a YAML file's text, for error messages.
//!
//! `serde_yaml::Value` keeps no positions, so once a file is a value tree (interpolated,
//! legacy keys translated) a problem found in it is placed back in the text by walking the
//! path over the lines: a key segment is the first line below its parent, more indented,
//! that starts with `key:` (or `- key:`, quoted or not), or a flow mapping on one line that
//! holds `key:`; an index segment is the n-th `- ` item below its parent. Comments and blank
//! lines are skipped. This is a best effort for messages only: `None` when the path cannot be
//! followed (then the message has no line), never a wrong decision about the config.

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// The 1-based line of `path` in `text`, or of its deepest ancestor that could be found.
pub fn line_of(text: &str, path: &[Segment]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut parent_indent: isize = -1;
    let mut found: Option<usize> = None;
    let mut flow = false;
    let mut own_line: Option<usize> = None;
    for segment in path {
        if flow {
            // Inside a one-line flow mapping or list: everything below is on that line.
            break;
        }
        let hit = match segment {
            Segment::Key(key) => find_key(&lines, start, parent_indent, key, own_line),
            Segment::Index(index) => find_item(&lines, start, parent_indent, *index),
        };
        let Some((line, indent, is_flow)) = hit else {
            return found.map(|l| l + 1);
        };
        found = Some(line);
        // An item's first key sits on the item's own `- ` line.
        let is_item = matches!(segment, Segment::Index(_));
        start = if is_item { line } else { line + 1 };
        own_line = is_item.then_some(line);
        parent_indent = indent;
        flow = is_flow;
    }
    found.map(|l| l + 1)
}

fn content(line: &str) -> Option<(isize, &str)> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
        return None;
    }
    Some(((line.len() - trimmed.len()) as isize, trimmed))
}

/// `(line index, indent of the key, whether the value is a flow collection on that line)`.
fn find_key(
    lines: &[&str],
    start: usize,
    parent_indent: isize,
    key: &str,
    own_line: Option<usize>,
) -> Option<(usize, isize, bool)> {
    let nested = parent_indent >= 0;
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    for (i, line) in lines.iter().enumerate().skip(start) {
        let Some((indent, text)) = content(line) else {
            continue;
        };
        if nested && indent <= parent_indent && own_line != Some(i) {
            return None;
        }
        let (indent, text) = match text.strip_prefix("- ") {
            Some(rest) => (indent + 2, rest.trim_start()),
            None => (indent, text),
        };
        if indent <= parent_indent || (!nested && indent != 0) {
            continue;
        }
        if forms.iter().any(|f| text.starts_with(f.as_str())) {
            let value = text.split_once(':').map_or("", |(_, v)| v.trim_start());
            return Some((i, indent, value.starts_with('{') || value.starts_with('[')));
        }
        if text.contains('{') && forms.iter().any(|f| in_flow(text, f)) {
            return Some((i, indent, true));
        }
    }
    None
}

fn in_flow(text: &str, form: &str) -> bool {
    text.match_indices(form).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c == '{' || c == ',' || c == ' ')
    })
}

fn find_item(
    lines: &[&str],
    start: usize,
    parent_indent: isize,
    index: usize,
) -> Option<(usize, isize, bool)> {
    let mut item_indent: Option<isize> = None;
    let mut seen = 0usize;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let Some((indent, text)) = content(line) else {
            continue;
        };
        if indent < parent_indent || (indent == parent_indent && !text.starts_with("- ")) {
            return None;
        }
        if !text.starts_with('-') {
            continue;
        }
        let expected = *item_indent.get_or_insert(indent);
        if indent != expected {
            continue;
        }
        if seen == index {
            return Some((i, indent + 1, false));
        }
        seen += 1;
    }
    None
}

/// Split a serde-style key path (`channels[2].pricing.input`) into segments, matching keys
/// that contain dots against the tree when it is given.
pub fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        let key_end = rest.find('[').unwrap_or(rest.len());
        if key_end > 0 {
            out.push(Segment::Key(rest[..key_end].to_string()));
        }
        rest = &rest[key_end..];
        while let Some(close) = rest.find(']') {
            if let Ok(index) = rest[1..close].parse() {
                out.push(Segment::Index(index));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
server:
  host: 127.0.0.1   # x
  port: 7601
channels:
  - id: a
    provider: mock
    pricing: { input: 1, output: 2 }
  - id: b
    tags: [x]
routing:
  sorting_strategies:
    mine:
      - field: cost_score
        weight: 1
      - field: speed
        weight: 2
";

    fn at(path: &str) -> Option<usize> {
        line_of(TEXT, &segments(path))
    }

    #[test]
    fn keys_items_and_flow_mappings_are_found_on_their_lines() {
        assert_eq!(at("server"), Some(2));
        assert_eq!(at("server.port"), Some(4));
        assert_eq!(at("channels[0].id"), Some(6));
        assert_eq!(at("channels[0].provider"), Some(7));
        assert_eq!(at("channels[0].pricing.output"), Some(8));
        assert_eq!(at("channels[1]"), Some(9));
        assert_eq!(at("channels[1].tags"), Some(10));
        assert_eq!(at("routing.sorting_strategies.mine[1].field"), Some(16));
        assert_eq!(at("routing.sorting_strategies.mine[1].weight"), Some(17));
    }

    #[test]
    fn a_missing_key_gives_its_deepest_found_ancestor() {
        assert_eq!(at("server.nope"), Some(2));
        assert_eq!(at("channels[1].nope"), Some(9));
        assert_eq!(at("nothing"), None);
    }
}

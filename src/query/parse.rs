//! The `model` string as a query (docs/queries.md): parsing it into a [`Query`], and resolving that
//! against a [`Catalog`](crate::catalog::Catalog) into candidate entries.
//!
//! Grammar decided here where the docs leaves room:
//! - `tag:` / `tags:` in any case starts a tag query; so does a string with a comma, or one that
//!   starts with a size filter (`>20b`, `ctx>=128k`). Pieces are split on `,` and trimmed;
//!   empty pieces are skipped (`tag:a,,b` = `tag:a,b`), but a query with no piece left is an
//!   error. Tags compare lower-case and whole (`qwen` does not match `qwen3`).
//! - `!tag` excludes; `!` alone and a negated filter (`!>20b`) are errors.
//! - Parameter filters: `>`, `>=`, `<`, `<=`, `=` then a size (`20b`, `1.5b`, `270m`, `1t`,
//!   `8x7b`). `=` allows ±10% (a "7b" model is 7.6 B on Ollama). They compare the total
//!   parameter count (a `30b-a3b` MoE is 30).
//! - Context filters: `ctx` then an operator and a length (`128k`, `1m`, `32768`), or the
//!   original router's bare `>32ki` form (a `ki` suffix means context).
//! - A model whose size or context is unknown never passes a filter on it.
//! - Size comparisons `qwen3->8b`, `qwen3-<=30b`: name prefix (a whole tag or complete
//!   segment), `-`, operator, size.
//! - Anything else is a name query (lower-cased for matching; the upstream still gets the
//!   channel's own id).

use std::fmt;

use crate::catalog::names::{parse_context_size, parse_param_size};

/// A parsed `model` string.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Tags(TagQuery),
    /// `qwen3->8b`: models named `prefix` with a size passing `filter`.
    SizeComparison {
        prefix: String,
        filter: Filter,
    },
    /// Anything else, lower-cased.
    Name(String),
}

/// `tag:a,b,!c,>20b`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagQuery {
    pub positives: Vec<String>,
    pub negatives: Vec<String>,
    pub filters: Vec<Filter>,
}

/// What a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    /// Total parameters, billions.
    Parameters,
    /// Context length, tokens.
    Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    Equal,
}

/// A size or context filter such as `>20b` or `ctx>=128k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: FilterField,
    pub comparison: Comparison,
    /// Billions for parameters, tokens for context.
    pub value: f64,
    /// As the user wrote it, for messages.
    pub text: String,
}

impl Filter {
    /// Whether a known value passes; unknown values never pass.
    pub fn passes(&self, value: Option<f64>) -> bool {
        let Some(v) = value else { return false };
        match self.comparison {
            Comparison::Greater => v > self.value,
            Comparison::GreaterOrEqual => v >= self.value,
            Comparison::Less => v < self.value,
            Comparison::LessOrEqual => v <= self.value,
            Comparison::Equal => (v - self.value).abs() <= self.value * 0.1,
        }
    }
}

/// Why a `model` string is not a usable query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn error(message: String) -> QueryError {
    QueryError { message }
}

/// Parse a `model` string.
pub fn parse_query(model: &str) -> Result<Query, QueryError> {
    let trimmed = model.trim();
    if trimmed.is_empty() {
        return Err(error(
            "`model` is empty: give a model name such as \"qwen3-235b-a22b\" or a tag query such as \"tag:free,qwen3\"".into(),
        ));
    }
    if let Some(rest) = strip_tag_prefix(trimmed) {
        return parse_tag_query(model, rest).map(Query::Tags);
    }
    if trimmed.contains(',') || starts_like_filter(trimmed) {
        return parse_tag_query(model, trimmed).map(Query::Tags);
    }
    if let Some(comparison) = parse_size_comparison(trimmed) {
        return Ok(comparison);
    }
    Ok(Query::Name(trimmed.to_lowercase()))
}

fn strip_tag_prefix(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let head = &text[..colon];
    (head.eq_ignore_ascii_case("tag") || head.eq_ignore_ascii_case("tags"))
        .then(|| &text[colon + 1..])
}

fn starts_like_filter(text: &str) -> bool {
    text.starts_with(['>', '<', '='])
        || text.get(..3).is_some_and(|h| h.eq_ignore_ascii_case("ctx"))
            && text[3..].trim_start().starts_with(['>', '<', '='])
}

fn parse_tag_query(original: &str, body: &str) -> Result<TagQuery, QueryError> {
    let mut query = TagQuery::default();
    for piece in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(negated) = piece.strip_prefix('!') {
            let negated = negated.trim();
            if negated.is_empty() {
                return Err(error(format!(
                    "`!` in {original:?} needs a tag after it, e.g. \"tag:free,!local\""
                )));
            }
            if starts_like_filter(negated) {
                return Err(error(format!(
                    "`{piece}` in {original:?}: a filter cannot be negated; use the opposite comparison (e.g. `<=20b` instead of `!>20b`)"
                )));
            }
            query.negatives.push(negated.to_lowercase());
        } else if starts_like_filter(piece) {
            query.filters.push(parse_filter(original, piece)?);
        } else {
            query.positives.push(piece.to_lowercase());
        }
    }
    if query.positives.is_empty() && query.negatives.is_empty() && query.filters.is_empty() {
        return Err(error(format!(
            "the tag query {original:?} is empty: list tags after `tag:`, e.g. \"tag:free,qwen3,!local\""
        )));
    }
    Ok(query)
}

/// `>20b`, `<=8b`, `=7b`, `ctx>=128k`, `>32ki`.
fn parse_filter(original: &str, piece: &str) -> Result<Filter, QueryError> {
    let lower = piece.to_lowercase();
    let (context_prefix, rest) = match lower.strip_prefix("ctx") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, lower.as_str()),
    };
    let (comparison, value_text) = split_comparison(rest).ok_or_else(|| {
        error(format!(
            "`{piece}` in {original:?} is not a filter: use >, >=, <, <= or = then a size"
        ))
    })?;
    let value_text = value_text.trim();
    let is_context = context_prefix || value_text.ends_with("ki");
    let value = if is_context {
        parse_context_size(value_text).map(|tokens| tokens as f64)
    } else {
        parse_param_size(value_text)
    };
    let Some(value) = value else {
        let hint = if is_context {
            "a context length such as ctx>=128k, ctx<32k or >32ki"
        } else {
            "a size such as >20b, <=8b, >=270m or ctx>=128k for context"
        };
        return Err(error(format!(
            "`{piece}` in {original:?} is not a valid filter: use {hint}"
        )));
    };
    Ok(Filter {
        field: if is_context {
            FilterField::Context
        } else {
            FilterField::Parameters
        },
        comparison,
        value,
        text: piece.to_string(),
    })
}

fn split_comparison(text: &str) -> Option<(Comparison, &str)> {
    let table = [
        (">=", Comparison::GreaterOrEqual),
        ("<=", Comparison::LessOrEqual),
        (">", Comparison::Greater),
        ("<", Comparison::Less),
        ("=", Comparison::Equal),
    ];
    table
        .into_iter()
        .find_map(|(op, cmp)| text.strip_prefix(op).map(|rest| (cmp, rest)))
}

/// `qwen3->8b`, `qwen3-<=30b`: the last `-` followed by an operator and a valid size.
fn parse_size_comparison(text: &str) -> Option<Query> {
    let lower = text.to_lowercase();
    let (at, _) = lower
        .match_indices('-')
        .rev()
        .find(|(i, _)| lower[i + 1..].starts_with(['>', '<', '=']))?;
    let prefix = lower[..at].trim();
    let (comparison, size) = split_comparison(&lower[at + 1..])?;
    let value = parse_param_size(size.trim())?;
    if prefix.is_empty() {
        return None;
    }
    Some(Query::SizeComparison {
        prefix: prefix.to_string(),
        filter: Filter {
            field: FilterField::Parameters,
            comparison,
            value,
            text: lower[at + 1..].to_string(),
        },
    })
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

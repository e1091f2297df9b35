//! Resolving a parsed [`Query`] against a [`Catalog`]: which entries are candidates, which
//! were dropped and why, and — when nothing is left — which tag or filter removed the last.
//!
//! Name queries (docs/queries.md) match, as one set (the same model under its other names): the exact
//! id; the id without vendor prefix and variant suffix (`qwen3-235b-a22b` matches
//! `qwen/qwen3-235b-a22b` and its `:free` variant; `...:free` in the query matches only that
//! variant); dated snapshots of it (`claude-3-haiku` matches `claude-3-haiku-20240307`); a
//! channel's `model_aliases` key. Only when those find nothing does a complete segment match
//! (`qwen2.5` finds Ollama's `qwen2.5:14b-instruct`). `gpt-4o` never matches `gpt-4o-mini`:
//! names match whole.
//! Then, for every query: the route's kind (chat routes never pick embedding models and the
//! reverse; a name query may reach an audio or moderation model on a chat route, since guard
//! and audio-preview models are served through chat completions, but tag queries never pick
//! them), `routing.model_filters` (known values only; `exclude_embedding_models` is implied
//! for chat routes by the kind rule), and context fit (a known context smaller than the
//! request's estimated need). The hot path allocates the candidate list and
//! nothing per entry unless `explain` asks for the dropped ones.

use super::parse::{Filter, FilterField, Query, TagQuery};
use crate::catalog::index::{intersect, union};
use crate::catalog::names::VARIANT_SUFFIXES;
use crate::catalog::{Catalog, CatalogEntry, EntryId, ModelKind};
use crate::config::ModelFilters;

/// What the request needs from a model besides the query.
#[derive(Debug, Clone, Copy)]
pub struct Needs<'a> {
    /// Chat for chat and completions routes, embedding for `/v1/embeddings`.
    pub kind: ModelKind,
    pub filters: &'a ModelFilters,
    /// Estimated prompt tokens + `max_tokens`; entries with a smaller known context drop.
    pub context_tokens: Option<u64>,
}

/// A matched entry that was not kept, and why (for `explain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub entry: EntryId,
    pub reason: String,
}

/// Candidates in entry order (ranking orders them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    pub candidates: Vec<EntryId>,
    pub dropped: Vec<Dropped>,
}

/// Nothing matched; the message names the query and what removed the last candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoMatch {
    pub message: String,
}

/// Resolve `query` (the client's text is `original`).
pub fn resolve(
    catalog: &Catalog,
    original: &str,
    query: &Query,
    needs: &Needs<'_>,
    explain: bool,
) -> Result<Resolution, NoMatch> {
    if catalog.is_empty() {
        return Err(no_match(original, catalog.empty_reason().to_string()));
    }
    let mut dropped = Vec::new();
    let matched = match query {
        Query::Tags(tags) => {
            match_tags(catalog, original, tags, needs.kind, &mut dropped, explain)?
        }
        Query::Name(name) => match_name(catalog, name),
        Query::SizeComparison { prefix, filter } => {
            let named = union(catalog.index.tag(prefix), catalog.index.segment(prefix));
            if named.is_empty() {
                return Err(no_match(
                    original,
                    format!("no model is named {prefix:?} (as a tag or a whole name segment)"),
                ));
            }
            let kept = apply_filter(catalog, named.clone(), filter, &mut dropped, explain);
            if kept.is_empty() {
                return Err(no_match(
                    original,
                    format!(
                        "{} named {prefix:?}, but none with {} parameters",
                        count(named.len()),
                        filter.text
                    ),
                ));
            }
            kept
        }
    };
    if matched.is_empty() {
        return Err(no_match(
            original,
            "no channel offers a model with that name, alias or name segment".into(),
        ));
    }
    let named = matches!(query, Query::Name(_));
    let candidates = keep_usable(
        catalog,
        original,
        matched,
        needs,
        named,
        &mut dropped,
        explain,
    )?;
    Ok(Resolution {
        candidates,
        dropped,
    })
}

fn no_match(original: &str, why: String) -> NoMatch {
    NoMatch {
        message: format!("no model matches {original:?}: {why}"),
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 model is".into()
    } else {
        format!("{n} models are")
    }
}

fn match_name(catalog: &Catalog, name: &str) -> Vec<EntryId> {
    let index = &catalog.index;
    let (base, variant) = split_name(name);
    let same_base = union(index.base_id(base), index.date_alias(base));
    let same_base: Vec<EntryId> = match variant {
        None => same_base,
        Some(v) => same_base
            .into_iter()
            .filter(|id| catalog.entry(*id).and_then(|e| e.variant.as_deref()) == Some(v))
            .collect(),
    };
    let same_model = union(&union(index.exact_id(name), &same_base), index.alias(name));
    if !same_model.is_empty() {
        return same_model;
    }
    index.segment(name).to_vec()
}

/// `vendor/model:variant` → (`model`, `variant`) when the variant is a known suffix word.
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.rsplit_once(':') {
        Some((base, variant)) if VARIANT_SUFFIXES.contains(&variant) => (base, Some(variant)),
        _ => (last, None),
    }
}

/// The kind with its article: `a chat`, `an embedding`.
fn a_kind(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Chat => "a chat",
        ModelKind::Embedding => "an embedding",
        ModelKind::Rerank => "a rerank",
        ModelKind::Image => "an image",
        ModelKind::Audio => "an audio",
        ModelKind::Moderation => "a moderation",
    }
}

fn match_tags(
    catalog: &Catalog,
    original: &str,
    query: &TagQuery,
    kind: ModelKind,
    dropped: &mut Vec<Dropped>,
    explain: bool,
) -> Result<Vec<EntryId>, NoMatch> {
    let index = &catalog.index;
    let mut set = if query.positives.is_empty() {
        index.kind(kind).to_vec()
    } else {
        let mut lists: Vec<&[EntryId]> = query.positives.iter().map(|t| index.tag(t)).collect();
        lists.sort_by_key(|l| l.len());
        let mut set = lists.first().map(|l| l.to_vec()).unwrap_or_default();
        for list in &lists[1..] {
            if set.is_empty() {
                break;
            }
            set = intersect(&set, list);
        }
        if set.is_empty() {
            return Err(explain_positives(catalog, original, &query.positives));
        }
        let tagged = set.len();
        let typed = intersect(&set, index.kind(kind));
        if explain {
            // Tagged, but of another kind: explain lists them with that reason, as it does
            // for a name query.
            for id in set.iter().filter(|id| typed.binary_search(id).is_err()) {
                if let Some(entry) = catalog.entry(*id) {
                    dropped.push(Dropped {
                        entry: *id,
                        reason: format!(
                            "is {} model; this route needs {}",
                            a_kind(entry.kind),
                            kind.as_str()
                        ),
                    });
                }
            }
        }
        let set = typed;
        if set.is_empty() {
            return Err(no_match(
                original,
                format!(
                    "{tagged} with those tags, but none is {a_kind} model (this route serves {kind} models only)",
                    a_kind = a_kind(kind),
                    kind = kind.as_str()
                ),
            ));
        }
        set
    };
    for negative in &query.negatives {
        let before = set.len();
        let excluded = index.tag(negative);
        set.retain(|id| {
            let hit = excluded.binary_search(id).is_ok();
            if hit && explain {
                dropped.push(Dropped {
                    entry: *id,
                    reason: format!("has tag {negative:?}, excluded by !{negative}"),
                });
            }
            !hit
        });
        if set.is_empty() {
            return Err(no_match(
                original,
                format!(
                    "{} left before !{negative}, and every one has tag {negative:?}",
                    count(before)
                ),
            ));
        }
    }
    for filter in &query.filters {
        let before = set.len();
        set = apply_filter(catalog, set, filter, dropped, explain);
        if set.is_empty() {
            return Err(no_match(
                original,
                format!(
                    "{} left before the filter {}, and none passes it (unknown sizes never pass)",
                    count(before),
                    filter.text
                ),
            ));
        }
    }
    Ok(set)
}

/// Find the first positive tag, in the order written, that emptied the set.
fn explain_positives(catalog: &Catalog, original: &str, positives: &[String]) -> NoMatch {
    let index = &catalog.index;
    let mut set: Option<Vec<EntryId>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for tag in positives {
        let list = index.tag(tag);
        let next = match &set {
            None => list.to_vec(),
            Some(s) => intersect(s, list),
        };
        if next.is_empty() {
            let why = if list.is_empty() {
                format!("no model has tag {tag:?}")
            } else {
                format!(
                    "{} with tag{} {}, but none of them also has tag {tag:?}",
                    set.as_ref().map_or(0, Vec::len),
                    if seen.len() == 1 { "" } else { "s" },
                    seen.join(", ")
                )
            };
            return no_match(original, why);
        }
        seen.push(tag);
        set = Some(next);
    }
    no_match(original, "no model has all of those tags".into())
}

fn apply_filter(
    catalog: &Catalog,
    mut set: Vec<EntryId>,
    filter: &Filter,
    dropped: &mut Vec<Dropped>,
    explain: bool,
) -> Vec<EntryId> {
    set.retain(|id| {
        let Some(entry) = catalog.entry(*id) else {
            return false;
        };
        let value = match filter.field {
            FilterField::Parameters => entry.params_b,
            FilterField::Context => entry.context_tokens.map(|c| c as f64),
        };
        let passes = filter.passes(value);
        if !passes && explain {
            let shown = match (filter.field, value) {
                (_, None) => "unknown".to_string(),
                (FilterField::Parameters, Some(v)) => format!("{v} B parameters"),
                (FilterField::Context, Some(v)) => format!("{v} tokens of context"),
            };
            dropped.push(Dropped {
                entry: *id,
                reason: format!("fails filter {} ({shown})", filter.text),
            });
        }
        passes
    });
    set
}

/// Why a matched entry cannot serve this request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unusable {
    WrongKind(ModelKind),
    BelowMinContext(u64),
    BelowMinParameters(f64),
    ContextTooSmall(u64),
}

impl Unusable {
    fn describe(self, needs: &Needs<'_>) -> String {
        let filters = needs.filters;
        match self {
            Unusable::WrongKind(kind) => {
                format!(
                    "is {} model; this route needs {}",
                    a_kind(kind),
                    needs.kind.as_str()
                )
            }
            Unusable::BelowMinContext(c) => format!(
                "context {c} < model_filters.min_context_length {}",
                filters.min_context_length
            ),
            Unusable::BelowMinParameters(p) => format!(
                "{p} B < model_filters.min_parameter_count {} B",
                filters.min_parameter_count
            ),
            Unusable::ContextTooSmall(c) => format!(
                "context {c} tokens is less than this request needs (about {})",
                needs.context_tokens.unwrap_or(0)
            ),
        }
    }

    /// Why the last candidates went, for the no-match message.
    fn summary(self, matched: usize, needs: &Needs<'_>) -> String {
        let models = if matched == 1 {
            "1 model".to_string()
        } else {
            format!("{matched} models")
        };
        match self {
            Unusable::WrongKind(_) => format!(
                "{models} matched, but none is {a_kind} model (this route serves {kind} models only)",
                a_kind = a_kind(needs.kind),
                kind = needs.kind.as_str()
            ),
            Unusable::BelowMinContext(_) => format!(
                "{models} matched, but routing.model_filters.min_context_length ({}) removed them",
                needs.filters.min_context_length
            ),
            Unusable::BelowMinParameters(_) => format!(
                "{models} matched, but routing.model_filters.min_parameter_count ({} B) removed them",
                needs.filters.min_parameter_count
            ),
            Unusable::ContextTooSmall(_) => format!(
                "{models} matched, but none has room for this request (about {} tokens of prompt + max_tokens)",
                needs.context_tokens.unwrap_or(0)
            ),
        }
    }
}

/// Route kind, then `routing.model_filters` and context fit. The no-match message counts the
/// entries of the right kind, so an embedding model among a chat query's matches is not
/// "matched".
fn keep_usable(
    catalog: &Catalog,
    original: &str,
    mut set: Vec<EntryId>,
    needs: &Needs<'_>,
    named: bool,
    dropped: &mut Vec<Dropped>,
    explain: bool,
) -> Result<Vec<EntryId>, NoMatch> {
    let mut last_reason = None;
    let mut right_kind = 0;
    set.retain(|id| {
        let Some(entry) = catalog.entry(*id) else {
            return false;
        };
        let reason = unusable(entry, needs, named);
        if !matches!(reason, Some(Unusable::WrongKind(_))) {
            right_kind += 1;
        }
        match reason {
            None => true,
            Some(reason) => {
                if explain {
                    dropped.push(Dropped {
                        entry: *id,
                        reason: reason.describe(needs),
                    });
                }
                if !matches!(reason, Unusable::WrongKind(_)) || last_reason.is_none() {
                    last_reason = Some(reason);
                }
                false
            }
        }
    });
    match last_reason {
        Some(reason) if set.is_empty() => {
            let matched = if right_kind == 0 { 1 } else { right_kind };
            let matched = if matches!(reason, Unusable::WrongKind(_)) {
                matched.max(1)
            } else {
                right_kind
            };
            Err(no_match(original, reason.summary(matched, needs)))
        }
        _ => Ok(set),
    }
}

/// The first reason an entry cannot serve this request.
fn unusable(entry: &CatalogEntry, needs: &Needs<'_>, named: bool) -> Option<Unusable> {
    let chat_capable = named
        && needs.kind == ModelKind::Chat
        && matches!(entry.kind, ModelKind::Audio | ModelKind::Moderation);
    if entry.kind != needs.kind && !chat_capable {
        return Some(Unusable::WrongKind(entry.kind));
    }
    if let Some(context) = entry.context_tokens {
        if context < needs.filters.min_context_length {
            return Some(Unusable::BelowMinContext(context));
        }
        if needs.context_tokens.is_some_and(|need| context < need) {
            return Some(Unusable::ContextTooSmall(context));
        }
    }
    match entry.params_b {
        Some(params) if params < needs.filters.min_parameter_count => {
            Some(Unusable::BelowMinParameters(params))
        }
        _ => None,
    }
}

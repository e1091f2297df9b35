//! The catalog's indexes: tag postings and name maps, built once with the catalog.
//!
//! Every posting list is a sorted, duplicate-free `Vec<EntryId>`, so intersections and
//! differences are linear merges (or binary searches when one side is small). Keys are
//! lower-case. This module never looks at a request; it only answers "which entries have X".

use std::collections::HashMap;

use super::{CatalogEntry, EntryId, ModelKind};

/// Tag postings and name maps over a catalog's entries.
#[derive(Debug, Default)]
pub struct CatalogIndex {
    tags: HashMap<Box<str>, Vec<EntryId>>,
    kinds: HashMap<ModelKind, Vec<EntryId>>,
    exact_ids: HashMap<Box<str>, Vec<EntryId>>,
    base_ids: HashMap<Box<str>, Vec<EntryId>>,
    date_aliases: HashMap<Box<str>, Vec<EntryId>>,
    aliases: HashMap<Box<str>, Vec<EntryId>>,
    segments: HashMap<Box<str>, Vec<EntryId>>,
}

const EMPTY: &[EntryId] = &[];

impl CatalogIndex {
    /// Index `entries`; `aliases` maps a channel's standard name to its entries.
    pub fn build(entries: &[CatalogEntry], aliases: Vec<(String, EntryId)>) -> Self {
        let mut index = CatalogIndex::default();
        for (i, entry) in entries.iter().enumerate() {
            let id = i as EntryId;
            for tag in &entry.tags {
                push(&mut index.tags, tag, id);
            }
            index.kinds.entry(entry.kind).or_default().push(id);
            push(&mut index.exact_ids, &entry.model_id.to_lowercase(), id);
            push(&mut index.base_ids, &entry.base_id, id);
            if let Some(alias) = &entry.date_alias {
                push(&mut index.date_aliases, alias, id);
            }
            for segment in &entry.segments {
                push(&mut index.segments, segment, id);
            }
        }
        for (alias, id) in aliases {
            push(&mut index.aliases, &alias, id);
        }
        for map in [
            &mut index.tags,
            &mut index.exact_ids,
            &mut index.base_ids,
            &mut index.date_aliases,
            &mut index.aliases,
            &mut index.segments,
        ] {
            for list in map.values_mut() {
                list.sort_unstable();
                list.dedup();
            }
        }
        index
    }

    /// Entries carrying `tag` (exact, lower-case).
    pub fn tag(&self, tag: &str) -> &[EntryId] {
        self.tags.get(tag).map_or(EMPTY, Vec::as_slice)
    }

    /// Entries of one kind.
    pub fn kind(&self, kind: ModelKind) -> &[EntryId] {
        self.kinds.get(&kind).map_or(EMPTY, Vec::as_slice)
    }

    /// Entries whose id equals `id` (lower-case).
    pub fn exact_id(&self, id: &str) -> &[EntryId] {
        self.exact_ids.get(id).map_or(EMPTY, Vec::as_slice)
    }

    /// Entries whose id without vendor prefix and variant suffix equals `base`.
    pub fn base_id(&self, base: &str) -> &[EntryId] {
        self.base_ids.get(base).map_or(EMPTY, Vec::as_slice)
    }

    /// Dated entries whose base id without the date equals `alias`.
    pub fn date_alias(&self, alias: &str) -> &[EntryId] {
        self.date_aliases.get(alias).map_or(EMPTY, Vec::as_slice)
    }

    /// Entries a channel's `model_aliases` maps `alias` to.
    pub fn alias(&self, alias: &str) -> &[EntryId] {
        self.aliases.get(alias).map_or(EMPTY, Vec::as_slice)
    }

    /// Entries with `segment` as a complete (or date-stripped) segment.
    pub fn segment(&self, segment: &str) -> &[EntryId] {
        self.segments.get(segment).map_or(EMPTY, Vec::as_slice)
    }

    /// Number of distinct tags.
    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }
}

fn push(map: &mut HashMap<Box<str>, Vec<EntryId>>, key: &str, id: EntryId) {
    match map.get_mut(key) {
        Some(list) => list.push(id),
        None => {
            map.insert(key.into(), vec![id]);
        }
    }
}

/// Sorted intersection of two sorted lists.
pub fn intersect(a: &[EntryId], b: &[EntryId]) -> Vec<EntryId> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.len() * 16 < large.len() {
        return small
            .iter()
            .copied()
            .filter(|id| large.binary_search(id).is_ok())
            .collect();
    }
    let mut out = Vec::with_capacity(small.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Sorted union of two sorted lists.
pub fn union(a: &[EntryId], b: &[EntryId]) -> Vec<EntryId> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                *x
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (Some(_), Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, Some(y)) => {
                j += 1;
                *y
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_on_sorted_lists() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5, 8]), vec![3, 5]);
        assert_eq!(intersect(&[], &[1, 2]), Vec::<EntryId>::new());
        let large: Vec<EntryId> = (0..100).collect();
        assert_eq!(intersect(&[5, 50, 500], &large), vec![5, 50]);
        assert_eq!(union(&[1, 3, 5], &[2, 3, 6]), vec![1, 2, 3, 5, 6]);
        assert_eq!(union(&[], &[4]), vec![4]);
    }
}

//! What reading the original router's format found: the providers declared inside its router
//! config, and the notes (one per legacy key, folded across channels) that become warnings.

use std::collections::BTreeMap;

use super::raw::RawProvider;

/// What translating found.
#[derive(Debug, Default)]
pub struct Translation {
    /// Providers declared inside the router config (the original's `providers:` section).
    pub providers: BTreeMap<String, RawProvider>,
    pub notes: Vec<LegacyNote>,
}

impl Translation {
    /// Whether the file used any key of the original's format.
    pub fn is_legacy(&self) -> bool {
        !self.notes.is_empty() || !self.providers.is_empty()
    }
}

/// One legacy key: where it was (the first place, with a count) and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyNote {
    /// A concrete key path, the first one seen (`channels[3].weight`).
    pub key_path: String,
    /// How many places used this key (`channels[*].weight` in 12 channels: 12).
    pub count: usize,
    pub message: String,
}

impl LegacyNote {
    /// The warning line, e.g. `routing.max_retry_attempts: ... (and 3 more)`.
    pub fn text(&self) -> String {
        match self.count {
            0 | 1 => format!("{}: {}", self.key_path, self.message),
            n => format!("{}: {} ({} places)", self.key_path, self.message, n),
        }
    }
}

/// Collects notes folded by generic path.
#[derive(Default)]
pub(super) struct Notes(BTreeMap<String, LegacyNote>, Vec<String>);

impl Notes {
    pub(super) fn add(&mut self, generic: &str, concrete: String, message: impl Into<String>) {
        if let Some(note) = self.0.get_mut(generic) {
            note.count += 1;
            return;
        }
        self.1.push(generic.to_string());
        self.0.insert(
            generic.to_string(),
            LegacyNote {
                key_path: concrete,
                count: 1,
                message: message.into(),
            },
        );
    }

    pub(super) fn moved(&mut self, generic: &str, concrete: String, new_key: &str) {
        let new_key = if new_key.contains('`') {
            new_key.to_string()
        } else {
            format!("`{new_key}`")
        };
        self.add(
            generic,
            concrete,
            format!("the original router's key; read as {new_key}"),
        );
    }

    pub(super) fn ignored(&mut self, generic: &str, concrete: String, reason: &str) {
        self.add(generic, concrete, format!("ignored: {reason}"));
    }

    pub(super) fn into_list(mut self) -> Vec<LegacyNote> {
        self.1
            .iter()
            .filter_map(|k| self.0.remove(k))
            .collect::<Vec<_>>()
    }
}

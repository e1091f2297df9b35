//! A JSON body longer than `history.max_body_bytes`, shortened so that it stays JSON: the
//! longest texts are cut in the middle, and when that is not enough the oldest messages of
//! the conversation are left out, each place with a visible marker. An agent resends its
//! whole conversation on every call; a body cut at a byte count would keep its first
//! messages and lose the newest turn, the one the call is about. Shortened, the stored body
//! keeps every key, the newest messages and the start and end of every long text, and the
//! detail view can still pretty-print it.
//!
//! Also owns [`Json`], a JSON value that keeps object keys in the order they were sent (the
//! detail view prints bodies with it).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value whose objects keep their keys in the order they came.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// The fewest characters a cut text keeps (two thirds from its start, the rest from its end).
const MIN_KEEP_CHARS: usize = 64;

/// Top-level keys whose array is the conversation, oldest message first: `messages` (OpenAI
/// chat, Anthropic Messages), `input` (OpenAI Responses), `contents` (Gemini).
const CONVERSATION_KEYS: &[&str] = &["messages", "input", "contents"];

/// Roles of a leading message that is kept when older messages are left out.
const INSTRUCTION_ROLES: &[&str] = &["system", "developer"];

/// `json` written in at most `max_bytes` (compact), or `None` when it cannot be: longer texts
/// are cut in the middle to the longest length that fits (at least [`MIN_KEEP_CHARS`]); then,
/// if the body has a conversation, its oldest messages are left out (a leading system or
/// developer message and the newest message are always kept) and the texts cut again to what
/// the room left allows.
pub fn shorten(json: &Json, max_bytes: usize) -> Option<String> {
    let conversation = conversation(json);
    let size = |keep: usize, dropped: usize| {
        let mut counter = ByteCounter(0);
        let view = View {
            json,
            keep,
            conversation,
            dropped,
        };
        match serde_json::to_writer(&mut counter, &view) {
            Ok(()) => counter.0,
            Err(_) => usize::MAX,
        }
    };
    let longest = longest_text(json);
    let dropped = if size(MIN_KEEP_CHARS, 0) <= max_bytes {
        0
    } else {
        let c = conversation?;
        let most = c.len.checked_sub(c.kept_head + 1).filter(|&n| n > 0)?;
        if size(MIN_KEEP_CHARS, most) > max_bytes {
            return None;
        }
        // The fewest messages left out for the body to fit with the shortest texts.
        first_true(1, most, |n| size(MIN_KEEP_CHARS, n) <= max_bytes)
    };
    // The longest texts that then fit: `keep` past the longest text cuts nothing.
    let keep = last_true(MIN_KEEP_CHARS, longest.max(MIN_KEEP_CHARS), |k| {
        size(k, dropped) <= max_bytes
    });
    let view = View {
        json,
        keep,
        conversation,
        dropped,
    };
    serde_json::to_string(&view).ok()
}

/// The smallest `n` in `lo..=hi` for which `fits(n)`, given `fits(hi)` and that `fits` stays
/// true once it is.
fn first_true(mut lo: usize, mut hi: usize, fits: impl Fn(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    hi
}

/// The largest `n` in `lo..=hi` for which `fits(n)`, given `fits(lo)` and that `fits` stays
/// false once it is.
fn last_true(mut lo: usize, mut hi: usize, fits: impl Fn(usize) -> bool) -> usize {
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Where a body's conversation is: the index of its key among the top-level keys, how many
/// messages it has, and how many leading ones are always kept (a system or developer
/// message).
#[derive(Debug, Clone, Copy)]
struct Conversation {
    key_index: usize,
    len: usize,
    kept_head: usize,
}

fn conversation(json: &Json) -> Option<Conversation> {
    let Json::Object(entries) = json else {
        return None;
    };
    entries
        .iter()
        .enumerate()
        .find_map(|(key_index, (key, value))| match value {
            Json::List(messages) if CONVERSATION_KEYS.contains(&key.as_str()) => {
                let leading_role = match messages.first() {
                    Some(Json::Object(fields)) => fields.iter().find_map(|(k, v)| match v {
                        Json::Text(role) if k == "role" => Some(role.as_str()),
                        _ => None,
                    }),
                    _ => None,
                };
                Some(Conversation {
                    key_index,
                    len: messages.len(),
                    kept_head: usize::from(
                        leading_role.is_some_and(|r| INSTRUCTION_ROLES.contains(&r)),
                    ),
                })
            }
            _ => None,
        })
}

/// The length in characters of the longest text (string value) in `json`.
fn longest_text(json: &Json) -> usize {
    match json {
        Json::Text(text) => text.chars().count(),
        Json::List(items) => items.iter().map(longest_text).max().unwrap_or(0),
        Json::Object(entries) => entries
            .iter()
            .map(|(_, v)| longest_text(v))
            .max()
            .unwrap_or(0),
        Json::Null | Json::Bool(_) | Json::Number(_) => 0,
    }
}

/// `text` cut to `keep` characters (two thirds from its start, the rest from its end) with
/// a marker between, or `None` when it is not longer than `keep` or the cut would not make
/// it shorter.
pub fn cut_text(text: &str, keep: usize) -> Option<String> {
    if text.len() <= keep {
        return None;
    }
    // Most texts are ASCII: characters are bytes, found without decoding (a shortening
    // sizes every text once per trial of its search).
    let ascii = text.is_ascii();
    let chars = if ascii {
        text.len()
    } else {
        text.chars().count()
    };
    if chars <= keep {
        return None;
    }
    let head_chars = keep * 2 / 3;
    let tail_chars = keep - head_chars;
    let (head_end, tail_start) = if ascii {
        (head_chars, text.len() - tail_chars)
    } else {
        let head_end = text
            .char_indices()
            .nth(head_chars)
            .map_or(text.len(), |(i, _)| i);
        let tail_start = text
            .char_indices()
            .nth_back(tail_chars.checked_sub(1)?)
            .map_or(text.len(), |(i, _)| i);
        (head_end, tail_start)
    };
    let marker = format!("…[cut {} chars]…", chars - keep);
    if marker.len() >= tail_start.saturating_sub(head_end) {
        return None;
    }
    let mut cut = String::with_capacity(head_end + marker.len() + text.len() - tail_start);
    cut.push_str(&text[..head_end]);
    cut.push_str(&marker);
    cut.push_str(&text[tail_start..]);
    Some(cut)
}

/// The marker that stands for messages left out of a conversation.
fn dropped_marker(count: usize) -> String {
    match count {
        1 => "…[cut 1 message]…".to_string(),
        n => format!("…[cut {n} messages]…"),
    }
}

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `json` as written with texts cut to `keep` characters, and `dropped` messages of its
/// conversation left out after the ones always kept.
struct View<'a> {
    json: &'a Json,
    keep: usize,
    conversation: Option<Conversation>,
    dropped: usize,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (Json::Object(entries), Some(conversation)) = (self.json, self.conversation) else {
            return Cut(self.json, self.keep).serialize(serializer);
        };
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (i, (key, value)) in entries.iter().enumerate() {
            match value {
                Json::List(messages) if i == conversation.key_index && self.dropped > 0 => {
                    map.serialize_entry(
                        key,
                        &ShortenedConversation {
                            messages,
                            kept_head: conversation.kept_head,
                            dropped: self.dropped,
                            keep: self.keep,
                        },
                    )?;
                }
                _ => map.serialize_entry(key, &Cut(value, self.keep))?,
            }
        }
        map.end()
    }
}

/// A conversation with `dropped` messages after the first `kept_head` left out, and one
/// marker in their place.
struct ShortenedConversation<'a> {
    messages: &'a [Json],
    kept_head: usize,
    dropped: usize,
    keep: usize,
}

impl Serialize for ShortenedConversation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kept_tail = self
            .messages
            .get(self.kept_head + self.dropped..)
            .unwrap_or(&[]);
        let kept_head = self.messages.get(..self.kept_head).unwrap_or(&[]);
        let mut seq = serializer.serialize_seq(Some(kept_head.len() + 1 + kept_tail.len()))?;
        for message in kept_head {
            seq.serialize_element(&Cut(message, self.keep))?;
        }
        seq.serialize_element(&dropped_marker(self.dropped))?;
        for message in kept_tail {
            seq.serialize_element(&Cut(message, self.keep))?;
        }
        seq.end()
    }
}

/// A value written with its texts cut to `.1` characters.
struct Cut<'a>(&'a Json, usize);

impl Serialize for Cut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let keep = self.1;
        match self.0 {
            Json::Text(text) => match cut_text(text, keep) {
                Some(cut) => serializer.serialize_str(&cut),
                None => serializer.serialize_str(text),
            },
            Json::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Cut(item, keep))?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, &Cut(value, keep))?;
                }
                map.end()
            }
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
        }
    }
}

/// Written whole: [`Cut`] with no text long enough to cut.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Cut(self, usize::MAX).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(n)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::Text(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::Text(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).expect("test JSON")
    }

    #[test]
    fn a_text_is_cut_in_the_middle_keeping_two_thirds_from_its_start() {
        let text: String = ('a'..='z').cycle().take(100).collect();
        let cut = cut_text(&text, 64).expect("cut");
        assert_eq!(
            cut,
            format!("{}…[cut 36 chars]…{}", &text[..42], &text[78..])
        );
        // Characters, not bytes: a Chinese text keeps whole characters.
        let chinese = "量子计算".repeat(30);
        let cut = cut_text(&chinese, 64).expect("cut");
        assert_eq!(
            cut,
            format!(
                "{}…[cut 56 chars]…{}",
                "量子计算".repeat(10) + "量子",
                "计算".to_string() + &"量子计算".repeat(5)
            )
        );
        // Not cut when it fits, or when the marker would not save anything.
        assert_eq!(cut_text(&text[..64], 64), None);
        assert_eq!(cut_text(&text[..70], 64), None);
    }

    #[test]
    fn keys_keep_their_order_and_values_their_form() {
        let text = r#"{"model":"m","messages":[],"max_tokens":5,"temperature":0.5,"stop":null,"stream":true,"n":-1}"#;
        assert_eq!(
            serde_json::to_string(&parse(text)).ok().as_deref(),
            Some(text)
        );
    }

    #[test]
    fn long_texts_are_cut_to_the_longest_length_that_fits() {
        let long = "x".repeat(300);
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"{long}"}}],"stream":true}}"#
        );
        let json = parse(&body);
        // 80 bytes less: 199 of the 300 characters and the 21-byte marker fill the room exactly.
        let short = shorten(&json, body.len() - 80).expect("fits");
        assert_eq!(
            short,
            format!(
                r#"{{"model":"m","messages":[{{"role":"user","content":"{}…[cut 101 chars]…{}"}}],"stream":true}}"#,
                "x".repeat(132),
                "x".repeat(67)
            )
        );
        assert_eq!(short.len(), body.len() - 80);
        // A body that fits as it is comes back compact and whole.
        let spaced = r#"{ "model": "m",   "messages": [ ] }"#;
        assert_eq!(
            shorten(&parse(spaced), 30).as_deref(),
            Some(r#"{"model":"m","messages":[]}"#)
        );
    }

    #[test]
    fn the_oldest_messages_are_left_out_when_cutting_texts_is_not_enough() {
        let turn = |role: &str, n: usize| {
            format!(
                r#"{{"role":"{role}","content":"turn {n} {}"}}"#,
                "y".repeat(40)
            )
        };
        let mut messages = vec![r#"{"role":"system","content":"be brief"}"#.to_string()];
        for n in 1..=20 {
            messages.push(turn(if n % 2 == 1 { "user" } else { "assistant" }, n));
        }
        let body = format!(r#"{{"model":"m","messages":[{}]}}"#, messages.join(","));
        let json = parse(&body);
        let short = shorten(&json, 400).expect("fits");
        assert!(short.len() <= 400, "{}", short.len());
        let value: serde_json::Value = serde_json::from_str(&short).expect("still JSON");
        let kept = value["messages"].as_array().expect("messages");
        // The system message, the marker, then the newest turns, whole (they are short).
        assert_eq!(kept[0]["content"], "be brief");
        let dropped = 20 - (kept.len() - 2);
        assert_eq!(kept[1], format!("…[cut {dropped} messages]…"));
        assert_eq!(
            kept.last().map(|m| m["content"].clone()),
            Some(format!("turn 20 {}", "y".repeat(40)).into())
        );
        for (i, message) in kept[2..].iter().enumerate() {
            assert_eq!(
                message["content"],
                format!("turn {} {}", dropped + 1 + i, "y".repeat(40))
            );
        }
        // As few are left out as fit: with one message less room, one more is left out.
        let tighter = shorten(&json, short.len() - 60).expect("fits");
        assert!(
            tighter.contains(&format!("…[cut {} messages]…", dropped + 1)),
            "{tighter}"
        );
        // Nothing can be left out of a conversation of one message.
        let one = format!(r#"{{"model":"m","messages":[{}]}}"#, turn("user", 1));
        assert_eq!(shorten(&parse(&one), 40), None);
    }

    #[test]
    fn a_body_that_cannot_fit_is_not_shortened() {
        // Only one message, and texts already at the shortest.
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
            "z".repeat(500)
        );
        assert_eq!(shorten(&parse(&body), 60), None);
        // No conversation to leave messages out of.
        let body = format!(r#"{{"a":"{0}","b":"{0}","c":"{0}"}}"#, "z".repeat(500));
        assert_eq!(shorten(&parse(&body), 200), None);
        assert!(shorten(&parse(&body), 300).is_some_and(|s| s.len() <= 300));
    }
}

//! Names and listing of the usage log files (SPEC §2, §9): `usage_YYYYMMDD.jsonl` in the
//! usage directory and their gzip'd archives `archive/usage_YYYYMMDD.jsonl.gz`.
//!
//! Owns the file-name rule, used by the rebuild and the archiver alike. It must never open,
//! read or change a file; it only lists directories. Names that do not follow the rule exactly
//! (wrong digit count, impossible date, temp files, other logs) are ignored.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// Sub-directory of the usage directory that holds archived (gzip'd) logs.
pub const ARCHIVE_DIR: &str = "archive";

const PREFIX: &str = "usage_";
const PLAIN_SUFFIX: &str = ".jsonl";
const ARCHIVE_SUFFIX: &str = ".jsonl.gz";

/// Whether a usage file is a live JSONL file or a gzip'd archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UsageFileKind {
    Plain,
    Archived,
}

/// One usage log file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFile {
    pub date: NaiveDate,
    pub kind: UsageFileKind,
    pub path: PathBuf,
}

/// `usage_YYYYMMDD.jsonl` for a UTC date.
pub fn usage_file_name(date: NaiveDate) -> String {
    format!("{PREFIX}{}{PLAIN_SUFFIX}", date.format("%Y%m%d"))
}

/// `usage_YYYYMMDD.jsonl.gz` for a UTC date.
pub fn archive_file_name(date: NaiveDate) -> String {
    format!("{PREFIX}{}{ARCHIVE_SUFFIX}", date.format("%Y%m%d"))
}

/// The date and kind a file name stands for, if it follows the naming rule exactly.
pub fn parse_usage_file_name(name: &str) -> Option<(NaiveDate, UsageFileKind)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (digits, kind) = if let Some(d) = rest.strip_suffix(ARCHIVE_SUFFIX) {
        (d, UsageFileKind::Archived)
    } else {
        (rest.strip_suffix(PLAIN_SUFFIX)?, UsageFileKind::Plain)
    };
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some((date, kind))
}

/// Every plain usage file in `dir` and every archive in `dir/archive`, sorted by date, plain
/// before archived. A missing directory lists as empty.
pub fn list_usage_files(dir: &Path) -> io::Result<Vec<UsageFile>> {
    let mut files = list_kind(dir, UsageFileKind::Plain)?;
    files.extend(list_kind(&dir.join(ARCHIVE_DIR), UsageFileKind::Archived)?);
    files.sort_by_key(|f| (f.date, f.kind));
    Ok(files)
}

fn list_kind(dir: &Path, wanted: UsageFileKind) -> io::Result<Vec<UsageFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some((date, kind)) = entry.file_name().to_str().and_then(parse_usage_file_name) else {
            continue;
        };
        if kind == wanted && entry.file_type()?.is_file() {
            files.push(UsageFile {
                date,
                kind,
                path: entry.path(),
            });
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let date = NaiveDate::from_ymd_opt(2026, 2, 3).expect("valid date");
        assert_eq!(usage_file_name(date), "usage_20260203.jsonl");
        assert_eq!(archive_file_name(date), "usage_20260203.jsonl.gz");
        let cases = [
            ("usage_20260203.jsonl", Some((date, UsageFileKind::Plain))),
            (
                "usage_20260203.jsonl.gz",
                Some((date, UsageFileKind::Archived)),
            ),
            ("usage_20260230.jsonl", None),
            ("usage_2026020.jsonl", None),
            ("usage_202602031.jsonl", None),
            ("usage_2026-2-3.jsonl", None),
            ("usage_20260203.jsonl.gz.tmp", None),
            ("usage_20260203.json", None),
            ("channel_alerts.jsonl", None),
            ("usage_+2026020.jsonl", None),
        ];
        for (name, want) in cases {
            assert_eq!(parse_usage_file_name(name), want, "{name}");
        }
    }
}

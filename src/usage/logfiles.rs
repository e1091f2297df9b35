//! Names and listing of the usage log files (docs/config.md, docs/usage-records.md): `usage_YYYYMMDD.jsonl` in the
//! usage directory and their gzip'd archives `archive/usage_YYYYMMDD.jsonl.gz`.
//!
//! Owns the file-name rule, used by the rebuild and the archiver alike, and how the gateway's
//! own log lines reach a file ([`append_lines`], [`create_private_dir`]): files are created
//! 0600 and directories 0700 (on unix; existing ones keep their mode), and a write either
//! lands whole lines or is rolled back, so a full or failing disk never leaves a torn line
//! that the next record would be joined to. Names that do not follow the rule exactly (wrong
//! digit count, impossible date, temp files, other logs) are ignored.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
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

/// `dir` and its missing parents, created 0700 (unix).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// An existing file or folder readable by others made its owner's only (0600, a folder
/// 0700; unix), as files created by an older version may be. A missing path is left alone.
pub fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            let mode = if meta.is_dir() { 0o700 } else { 0o600 };
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `options` creating files 0600 (unix): the one place the gateway's private files get
/// their mode (logs, archives, the history's spool).
pub fn owner_only(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// Open `path` for appending, creating it 0600 (unix) and its directory 0700.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    owner_only(OpenOptions::new().create(true).append(true)).open(path)
}

/// Append `lines` (whole lines, each ending in `\n`) to `file`, or nothing: when the write
/// fails part-way, the file is cut back to its length before it. When even that fails,
/// `*torn` is set, and the next append starts with a line break, so the broken piece stays a
/// line of its own (skipped as corrupt) instead of swallowing the next record.
pub fn append_lines(file: &mut File, lines: &[u8], torn: &mut bool) -> io::Result<()> {
    let before = file.metadata()?.len();
    let written = if *torn {
        file.write_all(b"\n").and_then(|()| file.write_all(lines))
    } else {
        file.write_all(lines)
    };
    if let Err(e) = written {
        let now = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if now != before && file.set_len(before).is_err() {
            *torn = true;
        }
        return Err(e);
    }
    *torn = false;
    Ok(())
}

/// Create a file in `dir` and remove it again: whether the gateway can write its logs there.
pub fn check_writable(dir: &Path) -> io::Result<()> {
    create_private_dir(dir)?;
    let probe = dir.join(format!(".write_check.{}", std::process::id()));
    let written = open_private_append(&probe).and_then(|mut f| f.write_all(b"ok\n"));
    let _ = fs::remove_file(&probe);
    written
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

    #[cfg(unix)]
    #[test]
    fn log_files_and_dirs_are_private_and_appends_are_whole_lines() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("logs/deeper");
        let path = dir.join("usage_20260203.jsonl");
        let mut file = open_private_append(&path).expect("open");
        let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode(&path), Some(0o600));
        assert_eq!(mode(&dir), Some(0o700));
        assert_eq!(mode(&root.path().join("logs")), Some(0o700));
        let mut torn = true;
        append_lines(&mut file, b"{\"a\":1}\n", &mut torn).expect("append");
        assert!(!torn);
        append_lines(&mut file, b"{\"b\":2}\n", &mut torn).expect("append");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "\n{\"a\":1}\n{\"b\":2}\n"
        );
        assert!(check_writable(&dir).is_ok());
        assert_eq!(
            fs::read_dir(&dir).expect("list").count(),
            1,
            "the probe is gone"
        );
    }

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

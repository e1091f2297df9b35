//! Archiving old usage logs: `usage_YYYYMMDD.jsonl` → `archive/usage_YYYYMMDD.jsonl.gz`.
//!
//! Owns the archive step. It must never touch today's (or a future) file, never remove an
//! original before its archive is complete and synced, and never read the clock (`today` is
//! passed in).
//!
//! Rules decided here:
//! - A file is archived when its date is more than `days_to_keep` days before `today`
//!   (`date < today - days_to_keep`; the original router's rule): with 30, the files of the
//!   last 31 days (today included) stay. `days_to_keep = 0` archives everything before today.
//! - Steps per file: gzip into `archive/usage_D.jsonl.gz.tmp`, finish, fsync, rename to
//!   `usage_D.jsonl.gz`, fsync the archive directory (best effort), then remove the original.
//!   A crash at any point leaves either the original alone or the original plus a complete
//!   archive; the rebuild reads the original in that case, and the next run finds the
//!   original's lines already at the end of the archive and only removes it, so running twice
//!   is harmless (idempotent).
//! - An archive that exists already (the day's file came back: a late backlog, a copy) is never
//!   overwritten: the file is added to it as one more gzip member (readers decode all members).
//! - Archives are their owner's only: files 0600, the folder 0700, like the logs.
//! - A file that fails is reported and left in place; the others go on.
//! - The request history database (`history.path`) is not a log file and is never archived
//!   here: it deletes its own old rows (`history.retention_days`); the command says so.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::usage::logfiles::{
    archive_file_name, create_private_dir, list_usage_files, owner_only, UsageFileKind, ARCHIVE_DIR,
};

/// What one archive run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Archives written, oldest first.
    pub archived: Vec<PathBuf>,
    /// Usage files left in place because they are recent (or today's, or future).
    pub kept: usize,
    /// Bytes of the originals archived, and of their archives.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Files that could not be archived, with the error; their originals are untouched.
    pub failed: Vec<(PathBuf, String)>,
}

/// Gzips usage files of `dir` older than `days_to_keep` days before `today` into
/// `dir/archive/`. Only listing `dir` or creating `dir/archive` can fail as a whole.
pub fn archive_logs(dir: &Path, days_to_keep: u32, today: NaiveDate) -> io::Result<ArchiveReport> {
    let cutoff = today
        .checked_sub_days(Days::new(u64::from(days_to_keep)))
        .unwrap_or(NaiveDate::MIN)
        .min(today);
    let mut report = ArchiveReport::default();
    let plain_files = list_usage_files(dir)?
        .into_iter()
        .filter(|f| f.kind == UsageFileKind::Plain);
    let archive_dir = dir.join(ARCHIVE_DIR);
    for file in plain_files {
        if file.date >= cutoff {
            report.kept += 1;
            continue;
        }
        create_private_dir(&archive_dir)?;
        let target = archive_dir.join(archive_file_name(file.date));
        match archive_one(&file.path, &target) {
            Ok((bytes_in, bytes_out)) => {
                report.bytes_in += bytes_in;
                report.bytes_out += bytes_out;
                report.archived.push(target);
            }
            Err(e) => report.failed.push((file.path, e.to_string())),
        }
    }
    Ok(report)
}

/// Gzips `source` into `target` (temp + fsync + rename), then removes `source`. Returns the
/// bytes read and written.
fn archive_one(source: &Path, target: &Path) -> io::Result<(u64, u64)> {
    let mut tmp_name = target.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    // What a run that stopped mid-write left.
    let _ = fs::remove_file(&tmp);
    let earlier = match gunzipped(target) {
        Ok(lines) => Some(lines),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(earlier) = &earlier {
        // A run that stopped after the rename: the archive already ends with this file.
        let lines = fs::read(source)?;
        if !lines.is_empty() && earlier.ends_with(&lines) {
            fs::remove_file(source)?;
            return Ok((lines.len() as u64, fs::metadata(target)?.len()));
        }
    }
    let existing = earlier.is_some().then_some(target);
    let written = write_gzip(source, existing, &tmp).and_then(|bytes_in| {
        fs::rename(&tmp, target)?;
        Ok(bytes_in)
    });
    let bytes_in = match written {
        Ok(bytes_in) => bytes_in,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Some(parent) = target.parent() {
        sync_dir(parent);
    }
    let bytes_out = fs::metadata(target)?.len();
    fs::remove_file(source)?;
    Ok((bytes_in, bytes_out))
}

/// Writes the archive `existing` (its gzip members as they are), then `source` gzip'd as one
/// more member, to `tmp` (created 0600) and syncs it; returns the bytes of `source` read.
fn write_gzip(source: &Path, existing: Option<&Path>, tmp: &Path) -> io::Result<u64> {
    let mut input = BufReader::new(File::open(source)?);
    let mut out = BufWriter::new(
        owner_only(
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true),
        )
        .open(tmp)?,
    );
    if let Some(existing) = existing {
        io::copy(&mut File::open(existing)?, &mut out)?;
    }
    let mut encoder = GzEncoder::new(out, Compression::default());
    let bytes_in = io::copy(&mut input, &mut encoder)?;
    let out = encoder.finish()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(bytes_in)
}

/// The lines an archive holds, all its gzip members decoded.
fn gunzipped(archive: &Path) -> io::Result<Vec<u8>> {
    let mut lines = Vec::new();
    io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(BufReader::new(File::open(archive)?)),
        &mut lines,
    )?;
    Ok(lines)
}

/// Makes a rename durable where the platform allows syncing a directory; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sar-archive-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    fn gunzip(path: &Path) -> String {
        let mut text = String::new();
        MultiGzDecoder::new(File::open(path).expect("open archive"))
            .read_to_string(&mut text)
            .expect("gunzip");
        text
    }

    #[test]
    fn archives_old_files_and_keeps_recent_ones() {
        let dir = scratch_dir("old-recent");
        let today = date(2026, 12, 1);
        let content = |d: &str| format!("{{\"timestamp\":\"{d}T10:00:00.000Z\"}}\n{{\"n\":2}}\n");
        for d in [
            "20261101", "20261128", "20261129", "20261130", "20261201", "20261202",
        ] {
            let day = format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]);
            fs::write(dir.join(format!("usage_{d}.jsonl")), content(&day)).expect("write");
        }
        fs::write(dir.join("channel_alerts.jsonl"), "{}\n").expect("write");

        let report = archive_logs(&dir, 2, today).expect("archive");
        let archive = dir.join(ARCHIVE_DIR);
        assert_eq!(
            report.archived,
            vec![
                archive.join("usage_20261101.jsonl.gz"),
                archive.join("usage_20261128.jsonl.gz")
            ]
        );
        assert_eq!(report.kept, 4);
        assert!(report.failed.is_empty());
        assert_eq!(report.bytes_in, 2 * content("2026-11-01").len() as u64);
        for d in ["20261129", "20261130", "20261201", "20261202"] {
            assert!(dir.join(format!("usage_{d}.jsonl")).exists(), "{d} kept");
        }
        assert!(!dir.join("usage_20261101.jsonl").exists());
        assert!(!dir.join("usage_20261128.jsonl").exists());
        assert!(dir.join("channel_alerts.jsonl").exists());
        assert_eq!(
            gunzip(&archive.join("usage_20261128.jsonl.gz")),
            content("2026-11-28")
        );
        assert!(!archive.join("usage_20261128.jsonl.gz.tmp").exists());

        let again = archive_logs(&dir, 2, today).expect("archive again");
        assert_eq!((again.archived.len(), again.kept), (0, 4));
        assert_eq!(
            gunzip(&archive.join("usage_20261101.jsonl.gz")),
            content("2026-11-01")
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn never_touches_today_and_redoes_an_interrupted_run() {
        let dir = scratch_dir("today");
        let today = date(2026, 12, 1);
        fs::write(dir.join("usage_20261201.jsonl"), "today\n").expect("write");
        fs::write(dir.join("usage_20261130.jsonl"), "yesterday\n").expect("write");
        // An earlier run stopped after the rename: archive complete, original still there.
        let archive = dir.join(ARCHIVE_DIR);
        fs::create_dir_all(&archive).expect("mkdir");
        write_gz(&archive.join("usage_20261130.jsonl.gz"), "yesterday\n");
        fs::write(archive.join("usage_20261130.jsonl.gz.tmp"), "partial").expect("write");

        let report = archive_logs(&dir, 0, today).expect("archive");
        assert_eq!(
            report.archived,
            vec![archive.join("usage_20261130.jsonl.gz")]
        );
        assert_eq!(report.kept, 1);
        assert_eq!(
            fs::read_to_string(dir.join("usage_20261201.jsonl"))
                .ok()
                .as_deref(),
            Some("today\n")
        );
        assert_eq!(
            gunzip(&archive.join("usage_20261130.jsonl.gz")),
            "yesterday\n"
        );
        assert!(!dir.join("usage_20261130.jsonl").exists());
        assert!(!archive.join("usage_20261130.jsonl.gz.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    fn write_gz(path: &Path, text: &str) {
        let mut encoder =
            GzEncoder::new(File::create(path).expect("create"), Compression::default());
        io::Write::write_all(&mut encoder, text.as_bytes()).expect("write");
        encoder.finish().expect("finish");
    }

    #[test]
    fn an_existing_archive_gets_the_file_added_never_overwritten() {
        let dir = scratch_dir("append");
        let archive = dir.join(ARCHIVE_DIR);
        fs::create_dir_all(&archive).expect("mkdir");
        write_gz(&archive.join("usage_20261130.jsonl.gz"), "older\n");
        fs::write(dir.join("usage_20261130.jsonl"), "late\n").expect("write");
        let report = archive_logs(&dir, 0, date(2026, 12, 1)).expect("archive");
        assert_eq!(report.failed, vec![]);
        assert_eq!(
            gunzip(&archive.join("usage_20261130.jsonl.gz")),
            "older\nlate\n"
        );
        assert!(!dir.join("usage_20261130.jsonl").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
            assert_eq!(mode(&archive.join("usage_20261130.jsonl.gz")), Some(0o600));
        }
        // An archive that cannot be read is left alone, and so is the file: reported.
        fs::write(archive.join("usage_20261129.jsonl.gz"), "not gzip").expect("write");
        fs::write(dir.join("usage_20261129.jsonl"), "kept\n").expect("write");
        let report = archive_logs(&dir, 0, date(2026, 12, 1)).expect("archive");
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert!(dir.join("usage_20261129.jsonl").exists());
        assert_eq!(
            fs::read(archive.join("usage_20261129.jsonl.gz"))
                .ok()
                .as_deref(),
            Some(&b"not gzip"[..])
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_dir_is_empty() {
        let dir = std::env::temp_dir().join(format!("sar-archive-none-{}", std::process::id()));
        let report = archive_logs(&dir, 30, date(2026, 12, 1)).expect("archive");
        assert_eq!(report, ArchiveReport::default());
    }
}

use std::sync::Arc;

use super::*;
use crate::history::writer::tests::record;

fn row(id: &str) -> HistoryRow {
    // A fixed time: a row built twice must come out the same.
    let record = UsageRecord {
        timestamp: "2026-12-05T06:00:00.000Z".into(),
        total_cost: 0.1 + 0.2,
        ..record(id)
    };
    let policy = crate::history::row::BodyPolicy {
        capture: true,
        max_bytes: 1024,
        secrets: Default::default(),
    };
    HistoryRow::build(record, None, &policy)
}

fn entries(ids: &[&str]) -> Vec<u8> {
    let mut buffer = Vec::new();
    for id in ids {
        push_entry(&mut buffer, row(id), None).expect("serialises");
    }
    buffer
}

fn ids(chunk: &Chunk) -> Vec<&str> {
    chunk.rows.iter().map(|r| r.id.as_str()).collect()
}

fn open(dir: &Path, max_bytes: u64) -> (SpoolWriter, SpoolReader, Arc<SpoolShared>) {
    let shared = Arc::new(SpoolShared::default());
    let writer = SpoolWriter::open(dir, max_bytes, shared.clone()).expect("writer");
    let reader = SpoolReader::open(dir, shared.clone()).expect("reader");
    (writer, reader, shared)
}

fn segment_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".spool"))
        .collect();
    names.sort();
    names
}

#[test]
fn rows_come_back_in_order_exactly_and_only_once_consumed() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, shared) = open(dir.path(), u64::MAX);
    assert!(reader.next_chunk(10).expect("read").is_none());
    let written = entries(&["req_1", "req_2", "req_3"]);
    writer.append(&written).expect("append");
    assert_eq!(shared.bytes(), written.len() as u64);

    let first = reader.next_chunk(2).expect("read").expect("a chunk");
    assert_eq!(ids(&first), ["req_1", "req_2"]);
    assert_eq!(first.rows[0], row("req_1"), "the row round-trips exactly");
    assert_eq!(first.rows[0].total_cost, 0.1 + 0.2);
    assert_eq!(first.records, None, "entries spooled without records");
    // Not marked consumed: the same rows come again.
    let again = reader.next_chunk(2).expect("read").expect("a chunk");
    assert_eq!(ids(&again), ["req_1", "req_2"]);
    reader.consumed(&again);
    let rest = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&rest), ["req_3"]);
    reader.consumed(&rest);
    assert!(reader.next_chunk(10).expect("read").is_none());
}

#[test]
fn records_come_back_only_when_every_entry_has_one() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, _) = open(dir.path(), u64::MAX);
    let record = UsageRecord {
        request_id: "req_r".into(),
        input_tokens: 7,
        ..UsageRecord::default()
    };
    let mut buffer = Vec::new();
    push_entry(&mut buffer, row("req_r"), Some(&record)).expect("serialises");
    writer.append(&buffer).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(chunk.records, Some(vec![record.clone()]));
    reader.consumed(&chunk);

    let mut buffer = Vec::new();
    push_entry(&mut buffer, row("req_s"), Some(&record)).expect("serialises");
    push_entry(&mut buffer, row("req_t"), None).expect("serialises");
    writer.append(&buffer).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_s", "req_t"]);
    assert_eq!(chunk.records, None);
}

#[test]
fn a_full_segment_is_closed_and_deleted_once_read_past() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, shared) = open(dir.path(), u64::MAX);
    // One entry longer than a segment: the batch that crosses the size closes it.
    let mut big = row("req_big");
    big.request_body = Some("x".repeat(SEGMENT_BYTES as usize));
    let mut buffer = Vec::new();
    push_entry(&mut buffer, big, None).expect("serialises");
    writer.append(&buffer).expect("append");
    writer.append(&entries(&["req_next"])).expect("append");
    assert_eq!(
        segment_names(dir.path()),
        ["000000000001.spool", "000000000002.spool"]
    );

    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(
        ids(&chunk),
        ["req_big"],
        "an entry longer than one read comes whole"
    );
    assert_eq!(
        chunk.rows[0].request_body.as_ref().map(String::len),
        Some(SEGMENT_BYTES as usize)
    );
    reader.consumed(&chunk);
    assert_eq!(
        segment_names(dir.path()).len(),
        2,
        "kept until the next read"
    );
    let next = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&next), ["req_next"]);
    assert_eq!(segment_names(dir.path()), ["000000000002.spool"]);
    assert_eq!(shared.bytes(), entries(&["req_next"]).len() as u64);
    reader.consumed(&next);
    assert_eq!(shared.bytes(), 0);
}

#[test]
fn a_full_spool_refuses_and_takes_rows_again_once_drained() {
    let dir = tempfile::tempdir().expect("dir");
    let one = entries(&["req_1"]);
    let (mut writer, mut reader, _) = open(dir.path(), one.len() as u64 + 10);
    writer.append(&one).expect("append");
    assert!(matches!(
        writer.append(&entries(&["req_2"])),
        Err(AppendError::Full)
    ));
    // Stored rows free their space, though their segment stays open.
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    reader.consumed(&chunk);
    writer.append(&entries(&["req_2"])).expect("room again");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_2"]);
}

#[test]
fn what_a_killed_run_left_is_read_first_and_a_torn_entry_is_skipped() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let (mut writer, _, _) = open(dir.path(), u64::MAX);
        writer
            .append(&entries(&["req_old1", "req_old2"]))
            .expect("append");
    }
    // A write cut short by the crash: half an entry at the end of the old segment.
    let old = dir.path().join("000000000001.spool");
    let half = entries(&["req_torn"]);
    let mut file = OpenOptions::new()
        .append(true)
        .open(&old)
        .expect("old segment");
    file.write_all(&half[..half.len() / 2]).expect("write");
    drop(file);
    let left = fs::metadata(&old).expect("meta").len();

    let (mut writer, mut reader, shared) = open(dir.path(), u64::MAX);
    assert_eq!(shared.bytes(), left, "what was left counts against the cap");
    writer.append(&entries(&["req_new"])).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_old1", "req_old2"]);
    assert_eq!(chunk.unreadable, 1);
    reader.consumed(&chunk);
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_new"]);
    assert_eq!(chunk.unreadable, 0);
    assert!(!old.exists(), "the old segment is deleted once read past");
}

#[test]
fn an_entry_that_does_not_parse_is_counted_and_the_rest_read() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, _) = open(dir.path(), u64::MAX);
    let mut buffer = entries(&["req_a"]);
    // A JSON line that is not JSON, a frame whose JSON part is not JSON, and a frame whose
    // body is not UTF-8: each is skipped whole.
    buffer.extend_from_slice(b"{\"row\": not json}\n");
    let mut bad_json = entries(&["req_x"]);
    bad_json[FRAME_HEADER] = b'[';
    buffer.extend(bad_json);
    let mut with_body = row("req_y");
    with_body.request_body = Some("abc".into());
    let mut bad_body = Vec::new();
    push_entry(&mut bad_body, with_body, None).expect("serialises");
    let last = bad_body.len() - 1;
    bad_body[last] = 0xFF;
    buffer.extend(bad_body);
    buffer.extend(entries(&["req_b"]));
    writer.append(&buffer).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_a", "req_b"]);
    assert_eq!(chunk.unreadable, 3);
}

#[test]
fn bodies_come_back_byte_for_byte_and_an_absent_body_stays_absent() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, _) = open(dir.path(), u64::MAX);
    let mut full = row("req_full");
    full.request_body =
        Some("{\"content\":\"line one\\nline \\\"two\\\"\"}\n量子计算 \u{0}\u{1F600}".into());
    full.response_body = Some("{\"content\":\"答案\"}\r\n".into());
    let mut empty = row("req_empty");
    empty.request_body = Some(String::new());
    empty.response_body = None;
    let mut bare = row("req_bare");
    bare.request_body = None;
    bare.response_body = Some("only an answer".into());
    let mut buffer = Vec::new();
    for entry in [&full, &empty, &bare] {
        push_entry(&mut buffer, entry.clone(), None).expect("serialises");
    }
    writer.append(&buffer).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(chunk.rows, [full, empty, bare]);
    assert_eq!(chunk.unreadable, 0);
}

#[test]
fn a_segment_of_json_lines_an_earlier_version_left_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    let mut old = row("req_old");
    old.request_body = Some("{\"messages\":\"hi\"}".into());
    let mut text = String::new();
    for entry in [old.clone(), row("req_old2")] {
        let entry = SpoolEntry {
            row: entry,
            record: None,
        };
        text.push_str(&serde_json::to_string(&entry).expect("json"));
        text.push('\n');
    }
    let earlier = dir.path().join("000000000007.jsonl");
    fs::write(&earlier, &text).expect("write");

    let (mut writer, mut reader, shared) = open(dir.path(), u64::MAX);
    assert_eq!(shared.bytes(), text.len() as u64);
    writer.append(&entries(&["req_new"])).expect("append");
    assert_eq!(segment_names(dir.path()), ["000000000008.spool"]);
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(chunk.rows, [old, row("req_old2")]);
    reader.consumed(&chunk);
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_new"]);
    assert!(!earlier.exists(), "deleted once read past");
}

#[test]
fn an_entry_cut_anywhere_at_the_end_of_a_segment_is_skipped_once() {
    let whole = entries(&["req_cut"]);
    for cut in [
        1,
        5,
        FRAME_HEADER - 1,
        FRAME_HEADER,
        FRAME_HEADER + 3,
        whole.len() - 1,
    ] {
        let dir = tempfile::tempdir().expect("dir");
        let mut left = entries(&["req_kept"]);
        left.extend_from_slice(&whole[..cut]);
        fs::write(dir.path().join("000000000001.spool"), &left).expect("write");
        let (_writer, mut reader, _) = open(dir.path(), u64::MAX);
        let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
        assert_eq!(ids(&chunk), ["req_kept"], "cut at {cut}");
        assert_eq!(chunk.unreadable, 1, "cut at {cut}");
        reader.consumed(&chunk);
        assert!(
            reader.next_chunk(10).expect("read").is_none(),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_second_writer_on_the_same_folder_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().expect("dir");
    let (first, _, _) = open(dir.path(), u64::MAX);
    let second = SpoolWriter::open(dir.path(), u64::MAX, Arc::new(SpoolShared::default()));
    let error = second.expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("another process is using this spool"),
        "{error}"
    );
    drop(first);
    SpoolWriter::open(dir.path(), u64::MAX, Arc::new(SpoolShared::default())).expect("free again");
}

#[test]
fn other_files_in_the_folder_are_left_alone() {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(dir.path().join("notes.txt"), "keep me").expect("write");
    fs::write(dir.path().join("12.spool"), "not a segment").expect("write");
    fs::write(dir.path().join("12.jsonl"), "not a segment").expect("write");
    let (mut writer, mut reader, shared) = open(dir.path(), u64::MAX);
    assert_eq!(shared.bytes(), 0);
    writer.append(&entries(&["req_1"])).expect("append");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    assert_eq!(ids(&chunk), ["req_1"]);
    assert!(dir.path().join("notes.txt").exists());
    assert!(dir.path().join("12.spool").exists());
    assert!(dir.path().join("12.jsonl").exists());
}

#[test]
fn a_closed_segment_whose_rows_are_stored_is_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut writer, mut reader, _) = open(dir.path(), u64::MAX);
    assert!(!writer.stored_all(), "nothing written yet");
    writer.append(&entries(&["req_1"])).expect("append");
    assert!(!writer.stored_all(), "not stored yet");
    let chunk = reader.next_chunk(10).expect("read").expect("a chunk");
    reader.consumed(&chunk);
    assert!(writer.stored_all());
    writer.close_segment().expect("close");
    assert!(reader.next_chunk(10).expect("read").is_none());
    assert_eq!(segment_names(dir.path()), ["000000000002.spool"]);
}

#[cfg(unix)]
#[test]
fn the_spool_is_its_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("dir");
    let dir = root.path().join("history.db.spool");
    // A folder an older version left readable by others is closed too.
    fs::create_dir(&dir).expect("dir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let (mut writer, _reader, _shared) = open(&dir, u64::MAX);
    writer.append(&entries(&["req_1"])).expect("append");
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    assert_eq!(mode(&dir), Some(0o700));
    assert_eq!(mode(&dir.join("lock")), Some(0o600));
    let segments = segment_names(&dir);
    assert!(!segments.is_empty());
    for name in segments {
        assert_eq!(mode(&dir.join(&name)), Some(0o600), "{name}");
    }
}

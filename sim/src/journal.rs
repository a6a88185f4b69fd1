//! The DBMS's change log ("journal"): numbered segment files of change records, appended by the
//! DBMS and read by capture the way HVR's log-based capture reads DBMS journal files.
//!
//! A record is one line: `<seq> <ts_ms> <origin> P <key> <value>` or `<seq> <ts_ms> <origin> D <key>`
//! with escaped fields. Sequence numbers are consecutive over all segments. A segment is named
//! after its first sequence number; the highest-numbered segment is the one being written.
//! When hvrlogrelease deletes a segment it first appends a line to `released.idx`, so capture can
//! tell a released stretch that held no local changes (skip it) from one it still needed (error).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::codec::{escape, unescape};
use crate::error::{Context, SimError, SimResult};

/// Who made a change. Capture only picks up `Local` changes, which is what stops a change that
/// was replicated into this database from being replicated back (no replication loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Committed by a client of this database.
    Local,
    /// Applied by replication from the other node.
    Integrated,
    /// Written by hvrrefresh.
    Refresh,
}

impl Origin {
    fn code(self) -> &'static str {
        match self {
            Origin::Local => "L",
            Origin::Integrated => "I",
            Origin::Refresh => "R",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "L" => Some(Origin::Local),
            "I" => Some(Origin::Integrated),
            "R" => Some(Origin::Refresh),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put(String),
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub ts_ms: u64,
    pub origin: Origin,
    pub key: String,
    pub op: Op,
}

impl Change {
    /// The record line, without its newline.
    pub fn encode(&self) -> String {
        let head = format!("{} {} {}", self.seq, self.ts_ms, self.origin.code());
        match &self.op {
            Op::Put(value) => format!("{head} P {} {}", escape(&self.key), escape(value)),
            Op::Delete => format!("{head} D {}", escape(&self.key)),
        }
    }

    pub fn decode(line: &str) -> Result<Change, String> {
        let fields: Vec<&str> = line.split(' ').collect();
        let bad = || format!("malformed change record {line:?}");
        if fields.len() < 5 {
            return Err(bad());
        }
        let seq = fields[0].parse().map_err(|_| bad())?;
        let ts_ms = fields[1].parse().map_err(|_| bad())?;
        let origin = Origin::from_code(fields[2]).ok_or_else(bad)?;
        let key = unescape(fields[4])?;
        let op = match (fields[3], fields.len()) {
            ("P", 6) => Op::Put(unescape(fields[5])?),
            ("D", 5) => Op::Delete,
            _ => return Err(bad()),
        };
        Ok(Change {
            seq,
            ts_ms,
            origin,
            key,
            op,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub first: u64,
    pub path: PathBuf,
}

pub fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("j{first:020}.jnl"))
}

/// The segments present, oldest first. A missing directory means an empty journal.
pub fn list_segments(dir: &Path) -> SimResult<Vec<Segment>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| format!("listing {}", dir.display())),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let first = name
            .strip_prefix('j')
            .and_then(|n| n.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            segments.push(Segment {
                first,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.first);
    Ok(segments)
}

/// Reads the complete records of one segment file (a torn last line is ignored).
pub fn read_segment(path: &Path) -> SimResult<Vec<Change>> {
    let data = fs::read(path).context(|| format!("reading {}", path.display()))?;
    let complete = match data.iter().rposition(|&b| b == b'\n') {
        Some(end) => &data[..=end],
        None => &[][..],
    };
    let text = std::str::from_utf8(complete)
        .map_err(|_| SimError::failed(format!("{}: not UTF-8", path.display())))?;
    text.lines()
        .map(|line| {
            Change::decode(line).map_err(|e| SimError::failed(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Cuts a record torn by a crash in the middle of a write off the end of a segment, so new
/// records are not glued to it. Returns the number of bytes removed.
pub fn truncate_torn_tail(path: &Path) -> SimResult<u64> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let keep = data
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |end| end + 1);
    if keep == data.len() {
        return Ok(0);
    }
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .context(|| format!("opening {}", path.display()))?;
    file.set_len(keep as u64)
        .context(|| format!("truncating {}", path.display()))?;
    Ok((data.len() - keep) as u64)
}

/// The last sequence number written (0 for an empty journal).
pub fn journal_end(dir: &Path) -> SimResult<u64> {
    let segments = list_segments(dir)?;
    let Some(last) = segments.last() else {
        return Ok(0);
    };
    let records = read_segment(&last.path)?;
    Ok(records
        .last()
        .map_or(last.first.saturating_sub(1), |c| c.seq))
}

/// One segment deleted by hvrlogrelease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    pub first: u64,
    pub last: u64,
    /// Sequence number of the segment's last local change; 0 when it held none.
    pub last_local: u64,
    pub released_at_ms: u64,
}

const RELEASED_INDEX: &str = "released.idx";

pub fn read_released(dir: &Path) -> SimResult<Vec<Released>> {
    let path = dir.join(RELEASED_INDEX);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let numbers: Vec<u64> = line
            .split_whitespace()
            .map(|f| f.parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| SimError::failed(format!("{}: bad line {line:?}", path.display())))?;
        let [first, last, last_local, released_at_ms] = numbers[..] else {
            return Err(SimError::failed(format!(
                "{}: bad line {line:?}",
                path.display()
            )));
        };
        out.push(Released {
            first,
            last,
            last_local,
            released_at_ms,
        });
    }
    out.sort_by_key(|r| r.first);
    Ok(out)
}

pub fn append_released(dir: &Path, released: &Released) -> SimResult<()> {
    let path = dir.join(RELEASED_INDEX);
    let line = format!(
        "{} {} {} {}\n",
        released.first, released.last, released.last_local, released.released_at_ms
    );
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .context(|| format!("opening {}", path.display()))?;
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .context(|| format!("writing {}", path.display()))
}

/// Decides whether capture may jump over `[from, to)` whose segments are gone: only when
/// hvrlogrelease recorded them and no local change at or after `from` was in them.
fn bridge_gap(dir: &Path, from: u64, to: u64) -> SimResult<()> {
    let mut next = from;
    for released in read_released(dir)? {
        if released.last < next {
            continue;
        }
        if released.first > next || next >= to {
            break;
        }
        if released.last_local >= from {
            return Err(SimError::failed(format!(
                "journal segment {}..{} was released by hvrlogrelease but still held local changes \
                 after capture position {}; capture cannot continue: run hvrinit (and hvrrefresh)",
                released.first,
                released.last,
                from - 1
            )));
        }
        next = released.last + 1;
    }
    if next < to {
        return Err(SimError::failed(format!(
            "journal records {next}..{} are missing (in no segment and not released by hvrlogrelease)",
            to - 1
        )));
    }
    Ok(())
}

/// Appends records to the current segment and starts new segments.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    file: File,
    /// Length of the segment after the last complete append, to undo a partial write.
    len: u64,
    current_first: u64,
    records_in_current: u64,
    segment_records: u64,
    fsync: bool,
}

impl JournalWriter {
    /// Opens (creating if needed) the segment that starts at `first` for appending.
    pub fn open(dir: &Path, first: u64, segment_records: u64, fsync: bool) -> SimResult<Self> {
        fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        let path = segment_path(dir, first);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .context(|| format!("opening {}", path.display()))?;
        let records_in_current = read_segment(&path)?.len() as u64;
        let len = file
            .metadata()
            .context(|| format!("reading {}", path.display()))?
            .len();
        Ok(JournalWriter {
            dir: dir.to_path_buf(),
            file,
            len,
            current_first: first,
            records_in_current,
            segment_records,
            fsync,
        })
    }

    /// Writes the records in one write, so a reader sees whole lines or nothing of a batch's tail.
    pub fn append(&mut self, changes: &[Change]) -> SimResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for change in changes {
            text.push_str(&change.encode());
            text.push('\n');
        }
        let path = segment_path(&self.dir, self.current_first);
        let written = self.file.write_all(text.as_bytes()).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Never leave half a record for the next append to be glued to.
            let _ = self.file.set_len(self.len);
            return Err(e).context(|| format!("writing {}", path.display()));
        }
        self.len += text.len() as u64;
        self.records_in_current += changes.len() as u64;
        Ok(())
    }

    pub fn wants_rotation(&self) -> bool {
        self.records_in_current >= self.segment_records
    }

    pub fn current_first(&self) -> u64 {
        self.current_first
    }

    /// Starts a new segment whose first record will be `next_first`.
    pub fn rotate(&mut self, next_first: u64) -> SimResult<()> {
        *self = JournalWriter::open(&self.dir, next_first, self.segment_records, self.fsync)?;
        Ok(())
    }
}

/// Incremental reader that remembers its place (segment and byte offset), so polling the tail
/// of a long journal costs only the new bytes.
#[derive(Debug, Clone)]
pub struct JournalCursor {
    dir: PathBuf,
    next_seq: u64,
    place: Option<(u64, u64)>,
}

impl JournalCursor {
    /// A cursor positioned after record `after`.
    pub fn new(dir: &Path, after: u64) -> Self {
        JournalCursor {
            dir: dir.to_path_buf(),
            next_seq: after + 1,
            place: None,
        }
    }

    /// The sequence number of the last record read (or the starting position).
    pub fn position(&self) -> u64 {
        self.next_seq - 1
    }

    /// Reads up to `max` further records; an empty result means the cursor is at the end.
    pub fn read(&mut self, max: usize) -> SimResult<Vec<Change>> {
        let mut out = Vec::new();
        let mut reread = false;
        loop {
            let (first, offset) = match self.place {
                Some(place) => place,
                None => match self.locate()? {
                    Some(place) => place,
                    None => return Ok(out),
                },
            };
            self.place = Some((first, offset));
            let before = out.len();
            match self.read_from(first, offset, max - out.len(), &mut out)? {
                None => {
                    // Released while we were reading it; locate() bridges the gap or fails.
                    self.place = None;
                    continue;
                }
                Some(new_offset) => self.place = Some((first, new_offset)),
            }
            if out.len() >= max {
                return Ok(out);
            }
            if out.len() > before {
                reread = false;
            }
            let segments = list_segments(&self.dir)?;
            let Some(successor) = segments.iter().find(|s| s.first > first) else {
                return Ok(out);
            };
            if successor.first == self.next_seq {
                self.place = Some((successor.first, 0));
                reread = false;
                continue;
            }
            // The writer finishes a segment before starting the next, so records we have not
            // seen yet were appended after our read: read once more before calling it a gap.
            if !reread {
                reread = true;
                continue;
            }
            return Err(SimError::failed(format!(
                "journal is not continuous: expected record {} before segment {}",
                self.next_seq, successor.first
            )));
        }
    }

    fn locate(&mut self) -> SimResult<Option<(u64, u64)>> {
        let segments = list_segments(&self.dir)?;
        let Some(earliest) = segments.first() else {
            return Ok(None);
        };
        if let Some(holding) = segments.iter().rev().find(|s| s.first <= self.next_seq) {
            return Ok(Some((holding.first, 0)));
        }
        bridge_gap(&self.dir, self.next_seq, earliest.first)?;
        self.next_seq = earliest.first;
        Ok(Some((earliest.first, 0)))
    }

    /// Returns the new offset, or `None` when the segment file no longer exists.
    fn read_from(
        &mut self,
        first: u64,
        offset: u64,
        max: usize,
        out: &mut Vec<Change>,
    ) -> SimResult<Option<u64>> {
        let path = segment_path(&self.dir, first);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context(|| format!("opening {}", path.display())),
        };
        file.seek(SeekFrom::Start(offset))
            .context(|| format!("reading {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut offset = offset;
        let mut taken = 0;
        let mut line = Vec::new();
        while taken < max {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .context(|| format!("reading {}", path.display()))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break; // end of file, or a record still being written
            }
            let text = std::str::from_utf8(&line[..n - 1])
                .map_err(|_| SimError::failed(format!("{}: not UTF-8", path.display())))?;
            let change = Change::decode(text)
                .map_err(|e| SimError::failed(format!("{}: {e}", path.display())))?;
            offset += n as u64;
            if change.seq < self.next_seq {
                continue;
            }
            if change.seq > self.next_seq {
                return Err(SimError::failed(format!(
                    "{}: expected record {}, found {}",
                    path.display(),
                    self.next_seq,
                    change.seq
                )));
            }
            self.next_seq += 1;
            out.push(change);
            taken += 1;
        }
        Ok(Some(offset))
    }
}

/// Calls `visit` for every record after `after`; returns the last sequence number seen.
pub fn scan_after(dir: &Path, after: u64, mut visit: impl FnMut(&Change)) -> SimResult<u64> {
    let mut cursor = JournalCursor::new(dir, after);
    loop {
        let batch = cursor.read(10_000)?;
        if batch.is_empty() {
            return Ok(cursor.position());
        }
        batch.iter().for_each(&mut visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn put(seq: u64, origin: Origin, key: &str, value: &str) -> Change {
        Change {
            seq,
            ts_ms: 1000 + seq,
            origin,
            key: key.into(),
            op: Op::Put(value.into()),
        }
    }

    #[test]
    fn records_round_trip_through_their_line_form() {
        let changes = [
            put(7, Origin::Local, "k 1", "value with spaces"),
            put(8, Origin::Refresh, "k", ""),
            Change {
                seq: 9,
                ts_ms: 5,
                origin: Origin::Integrated,
                key: "gone".into(),
                op: Op::Delete,
            },
        ];
        for change in changes {
            let line = change.encode();
            assert!(!line.contains('\n'));
            assert_eq!(Change::decode(&line), Ok(change));
        }
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in [
            "",
            "1 2 L P",
            "x 2 L P k v",
            "1 2 Q P k v",
            "1 2 L D k v",
            "1 2 L P k",
        ] {
            assert!(Change::decode(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cursor_follows_appends_across_rotation() {
        let dir = TempDir::new("journal-cursor");
        let mut writer = JournalWriter::open(dir.path(), 1, 2, false).unwrap();
        writer
            .append(&[
                put(1, Origin::Local, "a", "1"),
                put(2, Origin::Integrated, "b", "2"),
            ])
            .unwrap();
        let mut cursor = JournalCursor::new(dir.path(), 0);
        let first: Vec<u64> = cursor.read(10).unwrap().iter().map(|c| c.seq).collect();
        assert_eq!(first, vec![1, 2]);
        assert!(writer.wants_rotation());
        writer.rotate(3).unwrap();
        writer.append(&[put(3, Origin::Local, "c", "3")]).unwrap();
        let next: Vec<u64> = cursor.read(10).unwrap().iter().map(|c| c.seq).collect();
        assert_eq!(next, vec![3]);
        assert!(cursor.read(10).unwrap().is_empty());
        assert_eq!(cursor.position(), 3);
        assert_eq!(journal_end(dir.path()).unwrap(), 3);
    }

    #[test]
    fn cursor_respects_max_and_resumes() {
        let dir = TempDir::new("journal-max");
        let mut writer = JournalWriter::open(dir.path(), 1, 100, false).unwrap();
        let batch: Vec<Change> = (1..=5).map(|s| put(s, Origin::Local, "k", "v")).collect();
        writer.append(&batch).unwrap();
        let mut cursor = JournalCursor::new(dir.path(), 1);
        assert_eq!(
            cursor
                .read(2)
                .unwrap()
                .iter()
                .map(|c| c.seq)
                .collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(
            cursor
                .read(9)
                .unwrap()
                .iter()
                .map(|c| c.seq)
                .collect::<Vec<_>>(),
            vec![4, 5]
        );
    }

    #[test]
    fn torn_last_line_is_not_read_until_complete() {
        let dir = TempDir::new("journal-torn");
        let path = segment_path(dir.path(), 1);
        let whole = put(1, Origin::Local, "a", "1").encode();
        fs::write(&path, format!("{whole}\n2 5 L P b")).unwrap();
        let mut cursor = JournalCursor::new(dir.path(), 0);
        assert_eq!(cursor.read(10).unwrap().len(), 1);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b" 2\n").unwrap();
        let rest = cursor.read(10).unwrap();
        assert_eq!(
            rest,
            vec![Change {
                ts_ms: 5,
                ..put(2, Origin::Local, "b", "2")
            }]
        );
    }

    #[test]
    fn released_segments_without_local_changes_are_skipped() {
        let dir = TempDir::new("journal-released-ok");
        let mut writer = JournalWriter::open(dir.path(), 1, 100, false).unwrap();
        writer
            .append(&[
                put(1, Origin::Local, "a", "1"),
                put(2, Origin::Integrated, "b", "2"),
            ])
            .unwrap();
        writer.rotate(3).unwrap();
        writer.append(&[put(3, Origin::Local, "c", "3")]).unwrap();
        // Capture is at 1: the released segment's only local change (seq 1) is already captured.
        append_released(
            dir.path(),
            &Released {
                first: 1,
                last: 2,
                last_local: 1,
                released_at_ms: 0,
            },
        )
        .unwrap();
        fs::remove_file(segment_path(dir.path(), 1)).unwrap();
        let mut cursor = JournalCursor::new(dir.path(), 1);
        assert_eq!(
            cursor
                .read(10)
                .unwrap()
                .iter()
                .map(|c| c.seq)
                .collect::<Vec<_>>(),
            vec![3]
        );
    }

    #[test]
    fn released_segments_still_needed_by_capture_are_an_error() {
        let dir = TempDir::new("journal-released-needed");
        let mut writer = JournalWriter::open(dir.path(), 1, 100, false).unwrap();
        writer
            .append(&[
                put(1, Origin::Local, "a", "1"),
                put(2, Origin::Local, "b", "2"),
            ])
            .unwrap();
        writer.rotate(3).unwrap();
        append_released(
            dir.path(),
            &Released {
                first: 1,
                last: 2,
                last_local: 2,
                released_at_ms: 0,
            },
        )
        .unwrap();
        fs::remove_file(segment_path(dir.path(), 1)).unwrap();
        let err = JournalCursor::new(dir.path(), 1).read(10).unwrap_err();
        assert!(err.message().contains("hvrinit"), "{err}");
    }

    #[test]
    fn unexplained_gaps_are_an_error() {
        let dir = TempDir::new("journal-gap");
        let mut writer = JournalWriter::open(dir.path(), 5, 100, false).unwrap();
        writer.append(&[put(5, Origin::Local, "a", "1")]).unwrap();
        let err = JournalCursor::new(dir.path(), 0).read(10).unwrap_err();
        assert!(err.message().contains("missing"), "{err}");
    }
}

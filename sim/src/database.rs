//! The simulated DBMS's database: one table (key -> value) held in memory and made durable by
//! the journal. A snapshot of the table is written at every start and every journal rotation, so
//! every closed journal segment is covered by a snapshot and may be released by hvrlogrelease.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::codec::{escape, unescape};
use crate::error::{Context, SimError, SimResult};
use crate::fsutil::write_atomic;
use crate::journal::{
    list_segments, scan_after, truncate_torn_tail, Change, JournalWriter, Op, Origin,
};
use crate::timefmt::now_ms;

pub type Rows = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    pub segment_records: u64,
    pub fsync: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    Duplicate,
    NotFound,
    Failed(SimError),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyStats {
    pub applied: u64,
    /// Changes the table already reflected (a batch sent again after a lost acknowledgement).
    pub unchanged: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplaceStats {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl ReplaceStats {
    pub fn changed(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

#[derive(Debug)]
pub struct Database {
    dir: PathBuf,
    table: Rows,
    writer: JournalWriter,
    last_seq: u64,
    /// The database's own lock, held while it is open: as a real DBMS
    /// refuses a second server on the same data files, a second open
    /// (another DBMS process) is refused instead of writing the same journal.
    _lock: File,
}

impl Database {
    /// Recovers the table from the latest snapshot plus the journal after it.
    pub fn open(dir: &Path, options: DbOptions) -> SimResult<Self> {
        let journal_dir = dir.join("journal");
        fs::create_dir_all(&journal_dir)
            .context(|| format!("creating {}", journal_dir.display()))?;
        let lock_path = dir.join("database.lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .context(|| format!("opening {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(SimError::failed(format!(
                    "database {} is in use by another DBMS server (its lock {} is held)",
                    dir.display(),
                    lock_path.display()
                )))
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).context(|| format!("locking {}", lock_path.display()))
            }
        }
        let (snapshot_seq, mut table) = read_snapshot(dir)?.unwrap_or_default();
        let segments = list_segments(&journal_dir)?;
        if let Some(last) = segments.last() {
            truncate_torn_tail(&last.path)?;
        }
        if let Some(earliest) = segments.first() {
            if earliest.first > snapshot_seq + 1 {
                return Err(SimError::failed(format!(
                    "database {}: journal records {}..{} after the snapshot are missing",
                    dir.display(),
                    snapshot_seq + 1,
                    earliest.first - 1
                )));
            }
        }
        let last_seq = scan_after(&journal_dir, snapshot_seq, |change| {
            apply_to(&mut table, change)
        })?;
        write_snapshot(dir, last_seq, &table)?;
        let writer = JournalWriter::open(
            &journal_dir,
            last_seq + 1,
            options.segment_records,
            options.fsync,
        )?;
        Ok(Database {
            dir: dir.to_path_buf(),
            table,
            writer,
            last_seq,
            _lock: lock,
        })
    }

    /// A client's INSERT: refused when the key exists, like a primary key.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<u64, WriteError> {
        if self.table.contains_key(key) {
            return Err(WriteError::Duplicate);
        }
        let change = self.change(0, Origin::Local, key, Op::Put(value.to_string()));
        self.commit(vec![change]).map_err(WriteError::Failed)
    }

    pub fn delete(&mut self, key: &str) -> Result<u64, WriteError> {
        if !self.table.contains_key(key) {
            return Err(WriteError::NotFound);
        }
        let change = self.change(0, Origin::Local, key, Op::Delete);
        self.commit(vec![change]).map_err(WriteError::Failed)
    }

    /// Applies changes replicated from the other node as upserts and deletes by key. Idempotent:
    /// changes the table already reflects are not written again. Recorded as `Integrated`, so
    /// capture on this node never sends them back.
    pub fn apply(&mut self, incoming: &[Change]) -> SimResult<ApplyStats> {
        let mut staged: HashMap<&str, Option<&str>> = HashMap::new();
        let mut records = Vec::new();
        let mut stats = ApplyStats::default();
        for change in incoming {
            let current = match staged.get(change.key.as_str()) {
                Some(value) => *value,
                None => self.table.get(&change.key).map(String::as_str),
            };
            let wanted = match &change.op {
                Op::Put(value) => Some(value.as_str()),
                Op::Delete => None,
            };
            if current == wanted {
                stats.unchanged += 1;
                continue;
            }
            staged.insert(&change.key, wanted);
            records.push(self.change(
                records.len() as u64,
                Origin::Integrated,
                &change.key,
                change.op.clone(),
            ));
        }
        stats.applied = records.len() as u64;
        self.commit(records)?;
        Ok(stats)
    }

    /// Makes the table identical to `rows` (hvrrefresh). Recorded as `Refresh`, never captured.
    pub fn replace(&mut self, rows: &Rows) -> SimResult<ReplaceStats> {
        let mut stats = ReplaceStats::default();
        let mut records = Vec::new();
        for (key, value) in rows {
            match self.table.get(key) {
                Some(current) if current == value => continue,
                Some(_) => stats.updated += 1,
                None => stats.inserted += 1,
            }
            records.push(self.change(
                records.len() as u64,
                Origin::Refresh,
                key,
                Op::Put(value.clone()),
            ));
        }
        for key in self.table.keys().filter(|k| !rows.contains_key(*k)) {
            stats.deleted += 1;
            records.push(self.change(records.len() as u64, Origin::Refresh, key, Op::Delete));
        }
        self.commit(records)?;
        Ok(stats)
    }

    /// Starts a new journal segment once the current one is full, after a snapshot that covers
    /// the closed one. Returns whether it rotated.
    pub fn maybe_rotate(&mut self) -> SimResult<bool> {
        if !self.writer.wants_rotation() {
            return Ok(false);
        }
        write_snapshot(&self.dir, self.last_seq, &self.table)?;
        self.writer.rotate(self.last_seq + 1)?;
        Ok(true)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.table.get(key).map(String::as_str)
    }

    pub fn rows(&self) -> &Rows {
        &self.table
    }

    pub fn count(&self) -> u64 {
        self.table.len() as u64
    }

    pub fn checksum(&self) -> String {
        checksum(&self.table)
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn change(&self, offset: u64, origin: Origin, key: &str, op: Op) -> Change {
        Change {
            seq: self.last_seq + 1 + offset,
            ts_ms: now_ms(),
            origin,
            key: key.to_string(),
            op,
        }
    }

    fn commit(&mut self, changes: Vec<Change>) -> SimResult<u64> {
        self.writer.append(&changes)?;
        for change in &changes {
            apply_to(&mut self.table, change);
        }
        if let Some(last) = changes.last() {
            self.last_seq = last.seq;
        }
        Ok(self.last_seq)
    }
}

fn apply_to(table: &mut Rows, change: &Change) {
    match &change.op {
        Op::Put(value) => {
            table.insert(change.key.clone(), value.clone());
        }
        Op::Delete => {
            table.remove(&change.key);
        }
    }
}

/// FNV-1a (64 bit) over the sorted rows in their escaped line form: equal tables, equal sums.
pub fn checksum(rows: &Rows) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, value) in rows {
        let line = format!("{} {}\n", escape(key), escape(value));
        for byte in line.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

const SNAPSHOT: &str = "snapshot";
const SNAPSHOT_MAGIC: &str = "HVRSIM-SNAPSHOT 1";

pub fn write_snapshot(dir: &Path, seq: u64, rows: &Rows) -> SimResult<()> {
    let mut text = format!("{SNAPSHOT_MAGIC} seq={seq} rows={}\n", rows.len());
    for (key, value) in rows {
        text.push_str(&escape(key));
        text.push(' ');
        text.push_str(&escape(value));
        text.push('\n');
    }
    text.push_str("END\n");
    write_atomic(&dir.join(SNAPSHOT), text.as_bytes())
}

/// The snapshot's sequence number and rows; `None` before the first start.
pub fn read_snapshot(dir: &Path) -> SimResult<Option<(u64, Rows)>> {
    let path = dir.join(SNAPSHOT);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let bad = |what: &str| SimError::failed(format!("{}: {what}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad("empty snapshot"))?;
    let (seq, count) = parse_snapshot_header(header).ok_or_else(|| bad("bad header"))?;
    let mut rows = Rows::new();
    for line in lines.by_ref() {
        if line == "END" {
            if rows.len() as u64 != count {
                return Err(bad("row count does not match its header"));
            }
            return Ok(Some((seq, rows)));
        }
        let (key, value) = line.split_once(' ').ok_or_else(|| bad("bad row"))?;
        rows.insert(
            unescape(key).map_err(|e| bad(&e))?,
            unescape(value).map_err(|e| bad(&e))?,
        );
    }
    Err(bad("snapshot is incomplete (no END line)"))
}

/// The sequence number the snapshot covers, without loading its rows.
pub fn snapshot_seq(dir: &Path) -> SimResult<Option<u64>> {
    let path = dir.join(SNAPSHOT);
    let text = match fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let header_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let header = String::from_utf8_lossy(&text[..header_end]);
    parse_snapshot_header(&header)
        .map(|(seq, _)| Some(seq))
        .ok_or_else(|| SimError::failed(format!("{}: bad header", path.display())))
}

fn parse_snapshot_header(header: &str) -> Option<(u64, u64)> {
    let rest = header.strip_prefix(SNAPSHOT_MAGIC)?;
    let mut seq = None;
    let mut count = None;
    for field in rest.split_whitespace() {
        if let Some(v) = field.strip_prefix("seq=") {
            seq = v.parse().ok();
        } else if let Some(v) = field.strip_prefix("rows=") {
            count = v.parse().ok();
        }
    }
    Some((seq?, count?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{journal_end, read_segment, segment_path, JournalCursor};
    use crate::testutil::TempDir;

    const OPTIONS: DbOptions = DbOptions {
        segment_records: 1000,
        fsync: false,
    };

    fn rows(pairs: &[(&str, &str)]) -> Rows {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn remote(seq: u64, key: &str, op: Op) -> Change {
        Change {
            seq,
            ts_ms: 0,
            origin: Origin::Local,
            key: key.into(),
            op,
        }
    }

    #[test]
    fn insert_refuses_duplicates_and_survives_reopen() {
        let dir = TempDir::new("db-reopen");
        {
            let mut db = Database::open(dir.path(), OPTIONS).unwrap();
            assert_eq!(db.insert("a", "1"), Ok(1));
            assert_eq!(db.insert("b", "two words"), Ok(2));
            assert_eq!(db.insert("a", "again"), Err(WriteError::Duplicate));
            assert_eq!(db.delete("nope"), Err(WriteError::NotFound));
            assert_eq!(db.delete("a"), Ok(3));
        }
        let db = Database::open(dir.path(), OPTIONS).unwrap();
        assert_eq!(db.rows(), &rows(&[("b", "two words")]));
        assert_eq!(db.last_seq(), 3);
    }

    #[test]
    fn a_second_open_of_an_open_database_is_refused() {
        let dir = TempDir::new("db-twice");
        let first = Database::open(dir.path(), OPTIONS).unwrap();
        let second = Database::open(dir.path(), OPTIONS).unwrap_err();
        assert!(
            second.to_string().contains("in use by another DBMS server"),
            "{second}"
        );
        drop(first);
        Database::open(dir.path(), OPTIONS).unwrap();
    }

    #[test]
    fn apply_is_idempotent_and_marked_integrated() {
        let dir = TempDir::new("db-apply");
        let mut db = Database::open(dir.path(), OPTIONS).unwrap();
        db.insert("x", "old").unwrap();
        let batch = vec![
            remote(10, "x", Op::Put("new".into())),
            remote(11, "y", Op::Put("1".into())),
            remote(12, "y", Op::Delete),
            remote(13, "z", Op::Put("3".into())),
        ];
        assert_eq!(
            db.apply(&batch).unwrap(),
            ApplyStats {
                applied: 4,
                unchanged: 0
            }
        );
        // The same batch again (its acknowledgement was lost) changes nothing, except that the
        // y insert-then-delete pair is replayed against a table where y is already gone.
        let again = db.apply(&batch).unwrap();
        assert_eq!(again.unchanged, 2);
        assert_eq!(db.rows(), &rows(&[("x", "new"), ("z", "3")]));
        let journal = dir.path().join("journal");
        let mut origins = Vec::new();
        scan_after(&journal, 0, |c| origins.push(c.origin)).unwrap();
        assert_eq!(origins[0], Origin::Local);
        assert!(
            origins[1..].iter().all(|o| *o == Origin::Integrated),
            "{origins:?}"
        );
    }

    #[test]
    fn replace_reports_what_changed_and_records_refresh() {
        let dir = TempDir::new("db-replace");
        let mut db = Database::open(dir.path(), OPTIONS).unwrap();
        for (k, v) in [("keep", "1"), ("change", "old"), ("drop", "x")] {
            db.insert(k, v).unwrap();
        }
        let wanted = rows(&[("keep", "1"), ("change", "new"), ("add", "y")]);
        let stats = db.replace(&wanted).unwrap();
        assert_eq!(
            stats,
            ReplaceStats {
                inserted: 1,
                updated: 1,
                deleted: 1
            }
        );
        assert_eq!(stats.changed(), 3);
        assert_eq!(db.rows(), &wanted);
        assert_eq!(db.replace(&wanted).unwrap().changed(), 0);
        let mut refresh = 0;
        scan_after(&dir.path().join("journal"), 3, |c| {
            assert_eq!(c.origin, Origin::Refresh);
            refresh += 1;
        })
        .unwrap();
        assert_eq!(refresh, 3);
    }

    #[test]
    fn checksum_depends_on_content_not_history() {
        let a = rows(&[("k1", "v1"), ("k2", "v2")]);
        let mut b = Rows::new();
        b.insert("k2".into(), "v2".into());
        b.insert("k1".into(), "v1".into());
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&rows(&[("k1", "v1"), ("k2", "v3")])));
        assert_ne!(
            checksum(&rows(&[("a b", "c")])),
            checksum(&rows(&[("a", "b c")]))
        );
        assert_eq!(checksum(&Rows::new()).len(), 16);
    }

    #[test]
    fn rotation_snapshots_and_recovery_replays_only_the_tail() {
        let dir = TempDir::new("db-rotate");
        let small = DbOptions {
            segment_records: 3,
            fsync: false,
        };
        {
            let mut db = Database::open(dir.path(), small).unwrap();
            for i in 0..7 {
                db.insert(&format!("k{i}"), "v").unwrap();
                db.maybe_rotate().unwrap();
            }
            assert_eq!(snapshot_seq(dir.path()).unwrap(), Some(6));
        }
        let journal = dir.path().join("journal");
        let firsts: Vec<u64> = list_segments(&journal)
            .unwrap()
            .iter()
            .map(|s| s.first)
            .collect();
        // Segments 1..3 and 4..6 are full and closed; record 7 is in the open segment.
        assert_eq!(firsts, vec![1, 4, 7]);
        // Segments covered by the snapshot can go: recovery does not need them.
        fs::remove_file(segment_path(&journal, 1)).unwrap();
        fs::remove_file(segment_path(&journal, 4)).unwrap();
        let db = Database::open(dir.path(), small).unwrap();
        assert_eq!(db.count(), 7);
        assert_eq!(db.last_seq(), 7);
        assert_eq!(journal_end(&journal).unwrap(), 7);
    }

    #[test]
    fn torn_record_is_cut_off_on_recovery() {
        let dir = TempDir::new("db-torn");
        {
            let mut db = Database::open(dir.path(), OPTIONS).unwrap();
            db.insert("a", "1").unwrap();
        }
        let journal = dir.path().join("journal");
        let segment = list_segments(&journal).unwrap().pop().unwrap();
        let mut data = fs::read(&segment.path).unwrap();
        data.extend_from_slice(b"2 0 L P half");
        fs::write(&segment.path, data).unwrap();
        let mut db = Database::open(dir.path(), OPTIONS).unwrap();
        assert_eq!(db.rows(), &rows(&[("a", "1")]));
        assert_eq!(db.insert("b", "2"), Ok(2));
        assert_eq!(read_segment(&segment.path).unwrap().len(), 1);
        let mut cursor = JournalCursor::new(&journal, 0);
        assert_eq!(cursor.read(10).unwrap().len(), 2);
    }

    #[test]
    fn snapshot_round_trips_awkward_rows() {
        let dir = TempDir::new("db-snapshot");
        let data = rows(&[("a b", "x\ny"), ("END", ""), ("%", "100%")]);
        write_snapshot(dir.path(), 42, &data).unwrap();
        assert_eq!(read_snapshot(dir.path()).unwrap(), Some((42, data)));
        assert_eq!(snapshot_seq(dir.path()).unwrap(), Some(42));
    }
}

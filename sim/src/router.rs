//! Replication positions of a channel, persisted under `$HVR_CONFIG/router/<hub>/<channel>/`
//! (HVR keeps its router files there too):
//!
//! * `capture.state`: `seq` = last journal record capture has read; `phantom` = changes lost
//!   in flight by an unclean scheduler stop, counted at the next start (reset by hvrinit). The
//!   file's modification time is the capture's heartbeat, which hvrlogrelease's
//!   `-logrelease_expire` looks at.
//! * `integ_<location>.state`: `seq` such that every local change up to it has been
//!   acknowledged by that integrate location.
//! * `jobs.state`: `cap=` and `integ=`, each `PENDING` or `SUSPEND`: the state of the channel's
//!   capture and integrate jobs (hvrinit creates them SUSPEND, hvrsuspend changes them). HVR
//!   keeps job states in its catalog table `HVR_JOB`; the simulator keeps them here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::catalog::Channel;
use crate::error::{Context, SimError, SimResult};
use crate::fsutil::{read_state, write_atomic};
use crate::journal::{journal_end, scan_after, Origin};
use crate::paths::Layout;
use crate::timefmt::now_ms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureState {
    pub seq: u64,
    pub phantom: u64,
    pub updated: SystemTime,
}

#[derive(Debug, Clone)]
pub struct ChannelFiles {
    dir: PathBuf,
}

impl ChannelFiles {
    pub fn new(layout: &Layout, hub: &str, channel: &str) -> Self {
        ChannelFiles {
            dir: layout.router_dir(hub, channel),
        }
    }

    pub fn capture_path(&self) -> PathBuf {
        self.dir.join("capture.state")
    }

    pub fn integ_path(&self, location: &str) -> PathBuf {
        self.dir.join(format!("integ_{location}.state"))
    }

    pub fn load_capture(&self) -> SimResult<Option<CaptureState>> {
        let path = self.capture_path();
        let Some(state) = read_state(&path)? else {
            return Ok(None);
        };
        let updated = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .context(|| format!("reading {}", path.display()))?;
        Ok(Some(CaptureState {
            seq: number(&path, &state, "seq")?,
            phantom: number(&path, &state, "phantom").unwrap_or(0),
            updated,
        }))
    }

    pub fn save_capture(&self, seq: u64, phantom: u64) -> SimResult<()> {
        write_atomic(
            &self.capture_path(),
            format!("seq={seq}\nphantom={phantom}\nupdated_ms={}\n", now_ms()).as_bytes(),
        )
    }

    pub fn load_integ(&self, location: &str) -> SimResult<Option<u64>> {
        let path = self.integ_path(location);
        match read_state(&path)? {
            Some(state) => number(&path, &state, "seq").map(Some),
            None => Ok(None),
        }
    }

    pub fn save_integ(&self, location: &str, seq: u64) -> SimResult<()> {
        write_atomic(
            &self.integ_path(location),
            format!("seq={seq}\n").as_bytes(),
        )
    }

    /// The channel's enroll file (`<capture location>.enroll`). HVR 5 keeps
    /// `*.enroll` files in `$HVR_CONFIG/router/<hub>/<chn>/` (hvrrouterview
    /// page) and hvrinit does the table enrolment (`-E` "re-creates the enroll
    /// file"; hvrinit page; /work/shared/docs/hvr5-commands.md). The file
    /// name and content are the simulator's own: HVR documents neither.
    pub fn enroll_path(&self, capture_location: &str) -> PathBuf {
        self.dir.join(format!("{capture_location}.enroll"))
    }

    /// (Re)writes the enroll file: its modification time is the time of the
    /// last hvrinit, which baton compares with changes of the channel
    /// definition and hvrfailover.opt.
    pub fn save_enroll(&self, capture_location: &str) -> SimResult<()> {
        write_atomic(
            &self.enroll_path(capture_location),
            format!(
                "hvr-simulator enroll: location={capture_location} enrolled_ms={}\n",
                now_ms()
            )
            .as_bytes(),
        )
    }

    pub fn jobs_path(&self) -> PathBuf {
        self.dir.join("jobs.state")
    }

    /// The job states; a channel without the file (never initialized) has both jobs PENDING.
    pub fn load_jobs(&self) -> SimResult<JobStates> {
        let path = self.jobs_path();
        let Some(state) = read_state(&path)? else {
            return Ok(JobStates::default());
        };
        let suspended = |key: &str| match state.get(key).map(String::as_str) {
            None | Some("PENDING") => Ok(false),
            Some("SUSPEND") => Ok(true),
            Some(other) => Err(SimError::failed(format!(
                "{}: {key}={other} is neither PENDING nor SUSPEND",
                path.display()
            ))),
        };
        Ok(JobStates {
            cap_suspended: suspended("cap")?,
            integ_suspended: suspended("integ")?,
        })
    }

    pub fn save_jobs(&self, jobs: JobStates) -> SimResult<()> {
        let word = |s: bool| if s { "SUSPEND" } else { "PENDING" };
        write_atomic(
            &self.jobs_path(),
            format!(
                "cap={}\ninteg={}\n",
                word(jobs.cap_suspended),
                word(jobs.integ_suspended)
            )
            .as_bytes(),
        )
    }
}

/// Whether a channel's capture and integrate jobs are suspended (HVR's job state SUSPEND).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobStates {
    pub cap_suspended: bool,
    pub integ_suspended: bool,
}

fn number(path: &Path, state: &BTreeMap<String, String>, key: &str) -> SimResult<u64> {
    state
        .get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| SimError::failed(format!("{}: no valid {key}=", path.display())))
}

/// Positions and backlog of one integrate location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationReport {
    pub location: String,
    pub integrated_seq: u64,
    /// Local changes not yet acknowledged by this location.
    pub pending: u64,
    /// Age of the oldest of them, in ms.
    pub lag_ms: u64,
    /// Those already captured (the simulator's "transaction file" for this location): their
    /// count and the sequence numbers of the first and last.
    pub captured: u64,
    pub captured_first: u64,
    pub captured_last: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReport {
    pub initialized: bool,
    pub captured_seq: u64,
    pub last_seq: u64,
    pub phantom: u64,
    /// Pending changes already captured: held in the scheduler's memory while it runs, lost if
    /// it dies before integrating them.
    pub in_flight: u64,
    pub locations: Vec<LocationReport>,
}

impl ChannelReport {
    pub fn pending(&self) -> u64 {
        self.locations.iter().map(|l| l.pending).max().unwrap_or(0)
    }

    pub fn lag_ms(&self) -> u64 {
        self.locations.iter().map(|l| l.lag_ms).max().unwrap_or(0)
    }

    pub fn integrated_seq(&self) -> u64 {
        self.locations
            .iter()
            .map(|l| l.integrated_seq)
            .min()
            .unwrap_or(self.captured_seq)
    }
}

/// Reads the persisted positions and counts the local changes of the node's database that each
/// integrate location has not acknowledged. Works whether or not the scheduler runs.
pub fn channel_report(layout: &Layout, hub: &str, channel: &Channel) -> SimResult<ChannelReport> {
    let files = ChannelFiles::new(layout, hub, &channel.name);
    let journal = layout.journal_dir();
    let last_seq = journal_end(&journal)?;
    let Some(capture) = files.load_capture()? else {
        // Never initialized: the first scheduler start captures from the end of the journal.
        return Ok(ChannelReport {
            initialized: false,
            captured_seq: last_seq,
            last_seq,
            phantom: 0,
            in_flight: 0,
            locations: channel
                .integrate
                .iter()
                .map(|l| LocationReport {
                    location: l.clone(),
                    integrated_seq: last_seq,
                    pending: 0,
                    lag_ms: 0,
                    captured: 0,
                    captured_first: 0,
                    captured_last: 0,
                })
                .collect(),
        });
    };
    let mut locations = Vec::new();
    for location in &channel.integrate {
        let integrated_seq = files.load_integ(location)?.unwrap_or(capture.seq);
        locations.push(LocationReport {
            location: location.clone(),
            integrated_seq,
            pending: 0,
            lag_ms: 0,
            captured: 0,
            captured_first: 0,
            captured_last: 0,
        });
    }
    let from = locations
        .iter()
        .map(|l| l.integrated_seq)
        .min()
        .unwrap_or(capture.seq);
    let now = now_ms();
    let mut in_flight = 0;
    scan_after(&journal, from, |change| {
        if change.origin != Origin::Local {
            return;
        }
        let mut counted = false;
        for location in locations
            .iter_mut()
            .filter(|l| change.seq > l.integrated_seq)
        {
            if location.pending == 0 {
                location.lag_ms = now.saturating_sub(change.ts_ms);
            }
            location.pending += 1;
            counted = true;
            if change.seq <= capture.seq {
                if location.captured == 0 {
                    location.captured_first = change.seq;
                }
                location.captured += 1;
                location.captured_last = change.seq;
            }
        }
        if counted && change.seq <= capture.seq {
            in_flight += 1;
        }
    })?;
    Ok(ChannelReport {
        initialized: true,
        captured_seq: capture.seq,
        last_seq,
        phantom: capture.phantom,
        in_flight,
        locations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::{Database, DbOptions};
    use crate::testutil::TempDir;

    #[test]
    fn pending_counts_only_unacknowledged_local_changes() {
        let tmp = TempDir::new("router-pending");
        let layout = Layout::at(tmp.path());
        let mut db = Database::open(
            &layout.db_dir(),
            DbOptions {
                segment_records: 100,
                fsync: false,
            },
        )
        .unwrap();
        db.insert("a", "1").unwrap(); // 1 local
        db.apply(&[crate::journal::Change {
            seq: 1,
            ts_ms: 0,
            origin: Origin::Local,
            key: "r".into(),
            op: crate::journal::Op::Put("x".into()),
        }])
        .unwrap(); // 2 integrated: never pending
        db.insert("b", "2").unwrap(); // 3 local
        db.insert("c", "3").unwrap(); // 4 local
        let channel = Channel {
            name: "chn".into(),
            capture: "db1".into(),
            integrate: vec!["db2".into(), "dr1".into()],
        };
        let report = channel_report(&layout, "hub", &channel).unwrap();
        assert!(!report.initialized);
        assert_eq!(report.pending(), 0);

        let files = ChannelFiles::new(&layout, "hub", "chn");
        files.save_capture(3, 0).unwrap();
        files.save_integ("db2", 1).unwrap();
        files.save_integ("dr1", 3).unwrap();
        let report = channel_report(&layout, "hub", &channel).unwrap();
        assert_eq!(report.last_seq, 4);
        assert_eq!(report.captured_seq, 3);
        assert_eq!(report.locations[0].pending, 2, "b and c for db2");
        assert_eq!(report.locations[1].pending, 1, "only c for dr1");
        assert_eq!(report.pending(), 2);
        assert_eq!(report.integrated_seq(), 1);
        assert_eq!(
            report.in_flight, 1,
            "b is captured but not integrated everywhere"
        );
        let db2 = &report.locations[0];
        assert_eq!(
            (db2.captured, db2.captured_first, db2.captured_last),
            (1, 3, 3),
            "only b is captured and waits for db2"
        );
        assert_eq!(report.locations[1].captured, 0, "dr1 has b already");
    }

    #[test]
    fn state_files_round_trip() {
        let tmp = TempDir::new("router-state");
        let files = ChannelFiles::new(&Layout::at(tmp.path()), "hub", "chn");
        assert_eq!(files.load_capture().unwrap(), None);
        files.save_capture(42, 3).unwrap();
        let capture = files.load_capture().unwrap().unwrap();
        assert_eq!((capture.seq, capture.phantom), (42, 3));
        assert_eq!(files.load_integ("db2").unwrap(), None);
        files.save_integ("db2", 40).unwrap();
        assert_eq!(files.load_integ("db2").unwrap(), Some(40));
        assert_eq!(files.load_jobs().unwrap(), JobStates::default());
        let jobs = JobStates {
            cap_suspended: false,
            integ_suspended: true,
        };
        files.save_jobs(jobs).unwrap();
        assert_eq!(files.load_jobs().unwrap(), jobs);
        std::fs::write(files.jobs_path(), "cap=RUNNING\n").unwrap();
        assert!(
            files.load_jobs().is_err(),
            "an unknown job state is an error"
        );
    }
}

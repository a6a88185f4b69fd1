//! hvrlogrelease: releases (deletes) the simulated DBMS's journal segments no capture needs.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::CommandSpec;
use crate::args;
use crate::database::snapshot_seq;
use crate::error::{exit, Context, SimError, SimResult};
use crate::journal::{append_released, list_segments, read_segment, Origin, Released};
use crate::optfile::OptionFile;
use crate::paths::Layout;
use crate::router::ChannelFiles;
use crate::timefmt::{human, now_ms, parse_duration};

pub const HVRLOGRELEASE: CommandSpec = CommandSpec {
    name: "hvrlogrelease",
    summary: "release DBMS journal segments that no live capture needs",
    usage: "\
Usage: hvrlogrelease OPTFILE

Releases (deletes) journal segments of this node's simulated DBMS (HVR simulator): a closed
segment goes once the DBMS snapshot covers it and no capture still needs it, i.e. every
capture position (of every channel of every hub under $HVR_CONFIG) is at or past its last
record. Options in OPTFILE:
  -logrelease_expire=N[s|m|h|d]  ignore capture positions not updated for longer than N (a
                                 default unit of days). On a standby BC node the capture has
                                 not run since the last switchover; without this option its
                                 position would keep every journal segment forever. A running
                                 scheduler refreshes its positions every 10 seconds.
  -ingres_db=, -purge, ...       accepted and ignored (not simulated)
Segments released before a stale capture resumes are skipped by capture when they held no
local change it still needed; otherwise capture stops and asks for hvrinit.
",
    link: true,
    run: hvrlogrelease,
};

struct CapturePosition {
    name: String,
    seq: u64,
    age: Duration,
}

fn hvrlogrelease(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[])?;
    let [optfile] = parsed.exact_operands(["OPTFILE"])?;
    let options = OptionFile::read(Path::new(optfile))?;
    for ignored in options.unknown(&["logrelease_expire"]) {
        println!("hvrlogrelease (HVR simulator): option -{ignored} is not simulated; ignored");
    }
    let expire = options
        .value("logrelease_expire")
        .map(|v| {
            parse_duration(v, "d").map_err(|e| SimError::usage(format!("-logrelease_expire: {e}")))
        })
        .transpose()?;
    let layout = Layout::from_env()?;
    let journal = layout.journal_dir();
    let segments = list_segments(&journal)?;
    let covered = snapshot_seq(&layout.db_dir())?.unwrap_or(0);

    let mut live = Vec::new();
    for position in capture_positions(&layout)? {
        if expire.is_some_and(|limit| position.age > limit) {
            println!(
                "hvrlogrelease: ignoring capture position {} (record {}): not updated for {}, longer than -logrelease_expire",
                position.name,
                position.seq,
                human(position.age)
            );
        } else {
            live.push(position);
        }
    }
    let needed_after = live.iter().map(|p| p.seq).min().unwrap_or(u64::MAX);
    let limit = covered.min(needed_after);

    let mut released = Vec::new();
    // The last segment is the one the DBMS writes; never release it.
    for pair in segments.windows(2) {
        let (segment, next) = (&pair[0], &pair[1]);
        let last = next.first - 1;
        if last > limit {
            break;
        }
        let records = read_segment(&segment.path)?;
        let last_local = records
            .iter()
            .filter(|c| c.origin == Origin::Local)
            .map(|c| c.seq)
            .max()
            .unwrap_or(0);
        append_released(
            &journal,
            &Released {
                first: segment.first,
                last,
                last_local,
                released_at_ms: now_ms(),
            },
        )?;
        fs::remove_file(&segment.path)
            .context(|| format!("deleting {}", segment.path.display()))?;
        released.push((segment.first, last));
    }
    let kept = segments.len() - released.len();
    match (released.first(), released.last()) {
        (Some((first, _)), Some((_, last))) => println!(
            "hvrlogrelease (HVR simulator): released {} journal segments (records {first}..{last}); kept {kept}",
            released.len()
        ),
        _ => println!("hvrlogrelease (HVR simulator): released 0 journal segments; kept {kept}"),
    }
    if kept > 1 {
        let reason = if needed_after < covered {
            let pinning: Vec<String> = live
                .iter()
                .filter(|p| p.seq == needed_after)
                .map(|p| format!("{} at record {}", p.name, p.seq))
                .collect();
            format!("still needed by capture ({})", pinning.join(", "))
        } else {
            format!("not yet covered by the DBMS snapshot (record {covered})")
        };
        println!("hvrlogrelease: older segments kept: {reason}");
    }
    Ok(exit::OK)
}

/// Every channel's capture position under `$HVR_CONFIG/router/<hub>/<channel>/`.
fn capture_positions(layout: &Layout) -> SimResult<Vec<CapturePosition>> {
    let router = layout.config().join("router");
    let mut positions = Vec::new();
    for hub in subdirectories(&router)? {
        for channel in subdirectories(&router.join(&hub))? {
            let files = ChannelFiles::new(layout, &hub, &channel);
            if let Some(state) = files.load_capture()? {
                positions.push(CapturePosition {
                    name: format!("{hub}/{channel}"),
                    seq: state.seq,
                    age: SystemTime::now()
                        .duration_since(state.updated)
                        .unwrap_or_default(),
                });
            }
        }
    }
    Ok(positions)
}

fn subdirectories(dir: &Path) -> SimResult<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| format!("listing {}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

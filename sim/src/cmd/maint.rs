//! hvrmaint: cron housekeeping of a hub's log and scheduler.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::listener::probe;
use super::scheduler::{start, stop};
use super::CommandSpec;
use crate::args;
use crate::catalog::Hub;
use crate::error::{exit, Context, SimError, SimResult};
use crate::fsutil::{read_state, write_atomic};
use crate::log::Logger;
use crate::optfile::OptionFile;
use crate::paths::Layout;
use crate::scheduler::BANNER_PREFIX;
use crate::settings;
use crate::timefmt::{format_utc_compact, now_ms};

const DEFAULT_ARCHIVES_KEPT: usize = 10;
const LISTED_ERRORS: usize = 50;

pub const HVRMAINT: CommandSpec = CommandSpec {
    name: "hvrmaint",
    summary: "housekeeping of a hub: scan hvr.out for errors, archive it, test the scheduler",
    usage: "\
Usage: hvrmaint OPTFILE

Housekeeping for one hub (HVR simulator), driven by the options in OPTFILE:
  -hub=HUBDB             the hub (or the hub's name alone on a line); required
  -stop                  stop the scheduler (hvrscheduler -k: no flush) before the housekeeping
  -scan_hvr_out          report the error lines (F_J...) written to $HVR_CONFIG/log/HUBDB/hvr.out
                         since the previous scan
  -archive_files[=N]     move hvr.out to log/HUBDB/archive/hvr_<UTC time>.out; keep the N newest
                         archives (default 10)
  -archive_keep_days=D   also delete archives older than D days
  -start                 start the scheduler after the housekeeping
  -test_scheduler        check that the scheduler answers; not running is only reported as
                         expected when $HVR_CONFIG/files/hvrfailover.state says STOP (standby)
Other HVR options (e.g. -email_to=) are accepted and ignored with a notice.
Prints a report and appends a summary to hvr.out. Exit 0 when nothing needs attention,
1 when errors were found or the scheduler does not answer.
",
    link: true,
    run: hvrmaint,
};

const KNOWN: &[&str] = &[
    "hub",
    "stop",
    "start",
    "scan_hvr_out",
    "archive_files",
    "archive_keep_days",
    "test_scheduler",
];

fn hvrmaint(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[])?;
    let [optfile] = parsed.exact_operands(["OPTFILE"])?;
    let options = OptionFile::read(Path::new(optfile))?;
    let hub_name = options
        .hub()
        .ok_or_else(|| SimError::usage(format!("{optfile}: -hub=HUBDB is required")))?
        .to_string();
    let layout = Layout::from_env()?;
    Hub::load(&layout, &hub_name)?;
    let log = Logger::new(layout.hvr_out(&hub_name), "hvrmaint");
    for ignored in options.unknown(KNOWN) {
        println!("hvrmaint (HVR simulator): option -{ignored} is not simulated; ignored");
    }
    let mut problems = 0usize;
    let mut summary = Vec::new();

    if options.has("stop") {
        let stopped = stop(&layout, &hub_name)?;
        summary.push(
            if stopped {
                "scheduler stopped"
            } else {
                "scheduler was not running"
            }
            .to_string(),
        );
        println!(
            "hvrmaint: {}",
            summary.last().map(String::as_str).unwrap_or_default()
        );
    }
    if options.has("scan_hvr_out") {
        let errors = scan_hvr_out(&layout, &hub_name)?;
        println!(
            "hvrmaint: scanned hvr.out: {} new error lines",
            errors.len()
        );
        for line in errors.iter().take(LISTED_ERRORS) {
            println!("  {line}");
        }
        if errors.len() > LISTED_ERRORS {
            println!("  ... and {} more", errors.len() - LISTED_ERRORS);
        }
        problems += errors.len();
        summary.push(format!("{} new errors in hvr.out", errors.len()));
    }
    if options.has("archive_files") {
        let keep = match options.value("archive_files") {
            None => DEFAULT_ARCHIVES_KEPT,
            Some(n) => n.parse().map_err(|_| {
                SimError::usage(format!(
                    "-archive_files={n}: expected the number of archives to keep"
                ))
            })?,
        };
        let keep_days = options
            .value("archive_keep_days")
            .map(|d| {
                d.parse::<u64>().map_err(|_| {
                    SimError::usage(format!("-archive_keep_days={d}: expected a number of days"))
                })
            })
            .transpose()?;
        let (archived, deleted) = archive(&layout, &hub_name, keep, keep_days)?;
        match &archived {
            Some(name) => println!("hvrmaint: hvr.out archived as {name}; {deleted} old archives deleted"),
            None => println!("hvrmaint: hvr.out empty or absent, nothing archived; {deleted} old archives deleted"),
        }
        summary.push(format!("archived={}", archived.as_deref().unwrap_or("-")));
    }
    if options.has("start") {
        let (pid, port) = start(&layout, &hub_name)?;
        println!("hvrmaint: scheduler started (pid {pid}, port {port})");
        summary.push("scheduler started".to_string());
    }
    if options.has("test_scheduler") {
        let (ok, message) = test_scheduler(&layout, &hub_name)?;
        println!("hvrmaint: {message}");
        if !ok {
            problems += 1;
        }
        summary.push(message);
    }
    log.info(&format!("hvrmaint (simulator) ran: {}", summary.join("; ")));
    Ok(if problems == 0 {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// New `F_J` error lines since the last scan (the offset is kept next to hvr.out; a shorter
/// file means it was archived, so the scan starts over).
fn scan_hvr_out(layout: &Layout, hub: &str) -> SimResult<Vec<String>> {
    let out = layout.hvr_out(hub);
    let state = layout.log_dir(hub).join(".hvrmaint_scan");
    let offset: u64 = read_state(&state)?
        .and_then(|s| s.get("offset").and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    let mut file = match fs::File::open(&out) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| format!("opening {}", out.display())),
    };
    let len = file
        .metadata()
        .context(|| format!("reading {}", out.display()))?
        .len();
    let start = if offset > len { 0 } else { offset };
    let mut data = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_to_end(&mut data))
        .context(|| format!("reading {}", out.display()))?;
    // Only whole lines count; a line being written is scanned next time.
    let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(&data[..complete]);
    let errors = text
        .lines()
        .filter(|l| l.contains(": F_J"))
        .map(String::from)
        .collect();
    write_atomic(
        &state,
        format!("offset={}\n", start + complete as u64).as_bytes(),
    )?;
    Ok(errors)
}

/// Moves hvr.out into the archive directory and prunes old archives. Returns the new archive's
/// name (if any) and the number of archives deleted.
fn archive(
    layout: &Layout,
    hub: &str,
    keep: usize,
    keep_days: Option<u64>,
) -> SimResult<(Option<String>, usize)> {
    let out = layout.hvr_out(hub);
    let dir = layout.log_dir(hub).join("archive");
    fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
    let mut archived = None;
    let size = fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    if size > 0 {
        let mut name = format!("hvr_{}.out", format_utc_compact(now_ms()));
        let mut n = 1;
        while dir.join(&name).exists() {
            n += 1;
            name = format!("hvr_{}_{n}.out", format_utc_compact(now_ms()));
        }
        fs::rename(&out, dir.join(&name)).context(|| format!("archiving {}", out.display()))?;
        let _ = fs::remove_file(layout.log_dir(hub).join(".hvrmaint_scan"));
        archived = Some(name);
    }
    let mut archives: Vec<(String, SystemTime)> = Vec::new();
    for entry in fs::read_dir(&dir).context(|| format!("listing {}", dir.display()))? {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("hvr_") && name.ends_with(".out") {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            archives.push((name, modified));
        }
    }
    // Names embed the UTC time, so they sort oldest first.
    archives.sort();
    let too_old = |modified: SystemTime| {
        keep_days.is_some_and(|days| {
            SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age > Duration::from_secs(days * 86_400))
        })
    };
    let excess = archives.len().saturating_sub(keep);
    let mut deleted = 0;
    for (index, (name, modified)) in archives.iter().enumerate() {
        if index < excess || too_old(*modified) {
            fs::remove_file(dir.join(name)).context(|| format!("deleting archive {name}"))?;
            deleted += 1;
        }
    }
    Ok((archived, deleted))
}

fn test_scheduler(layout: &Layout, hub_name: &str) -> SimResult<(bool, String)> {
    let hub = Hub::load(layout, hub_name)?;
    let port = hub.scheduler_port()?;
    let host = settings::local_connect_addr()?;
    match probe(&host, port, Duration::from_secs(10)) {
        Ok(banner) if banner.starts_with(BANNER_PREFIX) => Ok((
            true,
            format!("scheduler of hub {hub_name} answers on port {port}"),
        )),
        answer => {
            let reason = answer
                .err()
                .unwrap_or_else(|| "something else answers".to_string());
            let standby = fs::read_to_string(layout.failover_state())
                .map(|s| s.trim() == "STOP")
                .unwrap_or(false);
            if standby {
                Ok((
                    true,
                    format!("scheduler of hub {hub_name} is not running, as expected on a standby node (hvrfailover.state=STOP)"),
                ))
            } else {
                Ok((
                    false,
                    format!("scheduler of hub {hub_name} does not answer on port {port}: {reason}"),
                ))
            }
        }
    }
}

//! hvrrouterview (replication backlog of a channel, for flush and lag checks) and hvrinit
//! (restart capture from now).

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::time::Duration;

use super::CommandSpec;
use crate::args;
use crate::catalog::Hub;
use crate::codec::{read_line, unescape};
use crate::error::{exit, SimError, SimResult};
use crate::journal::journal_end;
use crate::paths::{check_name, Layout};
use crate::router::{channel_report, ChannelFiles};
use crate::scheduler;

pub const HVRROUTERVIEW: CommandSpec = CommandSpec {
    name: "hvrrouterview",
    summary: "show a channel's replication backlog (pending, lag) as key=value lines",
    usage: "\
Usage: hvrrouterview HUBDB [CHN]

Prints, for channel CHN (or every channel of the hub), one machine-readable line (HVR
simulator):

  channel=CHN pending=N lag_ms=M captured_seq=C integrated_seq=I last_seq=L in_flight=F \\
    phantom=P scheduler=running|stopped initialized=yes|no

then one line per integrate location:

  location=LOC channel=CHN pending=N lag_ms=M integrated_seq=I queued=Q error=<text or ->

pending: local commits not yet acknowledged by the integrate location (0 = flushed);
lag_ms: age of the oldest of them; in_flight: those already captured (lost if the scheduler
dies: phantom changes); phantom: changes lost by an unclean stop, counted at the next start
(reset by hvrinit). queued and error are live values, '-' when the scheduler is stopped.
Works whether or not the scheduler runs.
",
    link: true,
    run: hvrrouterview,
};

pub const HVRINIT: CommandSpec = CommandSpec {
    name: "hvrinit",
    summary: "reset a channel's capture so replication restarts from now",
    usage: "\
Usage: hvrinit HUBDB CHN

Resets channel CHN (HVR simulator): capture restarts after the current end of this node's
DBMS journal, every integrate position moves there too (pending becomes 0) and the phantom
count is cleared. Local changes not yet replicated are discarded, as after a real hvrinit
following an abrupt failover (resynchronize the data with hvrrefresh). Refused while the
hub's scheduler runs: stop it first (hvrscheduler -k).
",
    link: true,
    run: hvrinit,
};

/// Live per-location values from a running scheduler: (queued, error) by (channel, location).
type Live = BTreeMap<(String, String), (String, String)>;

fn live_status(layout: &Layout, hub: &str) -> SimResult<Option<Live>> {
    let instance = scheduler::instance(layout, hub);
    if instance.running_pid()?.is_none() {
        return Ok(None);
    }
    let mut stream = instance.connect(Duration::from_secs(10))?;
    let mut talk = || -> std::io::Result<Live> {
        stream.write_all(b"STATUS\n")?;
        let mut reader = BufReader::new(&stream);
        let mut live = Live::new();
        while let Some(line) = read_line(&mut reader, 1 << 16)? {
            if line == "END" {
                break;
            }
            let words: Vec<&str> = line.splitn(4, ' ').collect();
            if let ["LOCATION", channel, location, rest] = words[..] {
                let fields: BTreeMap<&str, &str> =
                    rest.split(' ').filter_map(|w| w.split_once('=')).collect();
                let error = fields
                    .get("error")
                    .filter(|e| **e != "-")
                    .map(|e| unescape(e).unwrap_or_else(|_| e.to_string()))
                    .unwrap_or_else(|| "-".to_string());
                let queued = fields.get("queued").unwrap_or(&"-").to_string();
                live.insert((channel.to_string(), location.to_string()), (queued, error));
            }
        }
        Ok(live)
    };
    talk()
        .map(Some)
        .map_err(|e| SimError::failed(format!("asking the scheduler of hub {hub}: {e}")))
}

fn hvrrouterview(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[])?;
    let (hub_name, channel_name) = match parsed.operands.as_slice() {
        [hub] => (hub.as_str(), None),
        [hub, channel] => (hub.as_str(), Some(channel.as_str())),
        _ => return Err(SimError::usage("expected HUBDB [CHN]")),
    };
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let channels = match channel_name {
        Some(name) => vec![hub.channel(name)?],
        None => hub.channels.values().collect(),
    };
    let live = live_status(&layout, hub_name)?;
    let scheduler_state = if live.is_some() { "running" } else { "stopped" };
    for channel in channels {
        let report = channel_report(&layout, hub_name, channel)?;
        println!(
            "channel={} pending={} lag_ms={} captured_seq={} integrated_seq={} last_seq={} \
             in_flight={} phantom={} scheduler={scheduler_state} initialized={}",
            channel.name,
            report.pending(),
            report.lag_ms(),
            report.captured_seq,
            report.integrated_seq(),
            report.last_seq,
            report.in_flight,
            report.phantom,
            if report.initialized { "yes" } else { "no" }
        );
        for location in &report.locations {
            let (queued, error) = live
                .as_ref()
                .and_then(|l| l.get(&(channel.name.clone(), location.location.clone())))
                .cloned()
                .unwrap_or_else(|| ("-".into(), "-".into()));
            println!(
                "location={} channel={} pending={} lag_ms={} integrated_seq={} queued={queued} error={error}",
                location.location, channel.name, location.pending, location.lag_ms, location.integrated_seq
            );
        }
    }
    Ok(exit::OK)
}

fn hvrinit(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[])?;
    let [hub_name, channel_name] = parsed.exact_operands(["HUBDB", "CHN"])?;
    check_name("channel", channel_name)?;
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let channel = hub.channel(channel_name)?;
    if let Some(pid) = scheduler::instance(&layout, hub_name).running_pid()? {
        return Err(SimError::failed(format!(
            "the scheduler of hub {hub_name} is running (pid {pid}); stop it first (hvrscheduler -k {hub_name})"
        )));
    }
    // Counting what is discarded needs the journal since the old positions, which may be
    // exactly what is missing (released segments): hvrinit is the remedy, so it must not fail.
    let discarded = match channel_report(&layout, hub_name, channel) {
        Ok(report) => report.pending().to_string(),
        Err(_) => "an unknown number of".to_string(),
    };
    let end = journal_end(&layout.journal_dir())?;
    let files = ChannelFiles::new(&layout, hub_name, channel_name);
    for location in &channel.integrate {
        files.save_integ(location, end)?;
    }
    files.save_capture(end, 0)?;
    println!(
        "hvrinit (HVR simulator): channel {channel_name} of hub {hub_name} initialized: capture \
         restarts after journal record {end}; {discarded} unreplicated changes discarded; phantom count reset"
    );
    Ok(exit::OK)
}

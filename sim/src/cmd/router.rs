//! hvrrouterview (the transaction files of a channel's router directory, as HVR 5's XML),
//! `hvrsim routerstate` (the simulator's own positions and backlog, for its tests and for
//! people; not an HVR command) and hvrinit (restart capture from now).

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
use crate::router::{channel_report, ChannelFiles, ChannelReport, JobStates};
use crate::scheduler;

pub const HVRROUTERVIEW: CommandSpec = CommandSpec {
    name: "hvrrouterview",
    summary: "show the transaction files of a channel's router directory, as XML",
    usage: "\
Usage: hvrrouterview HUBDB CHN

Shows the transaction files in channel CHN's router directory (HVR simulator), in the form
of HVR 5's hvrrouterview (https://fivetran.com/docs/hvr5/commands/hvrrouterview): XML on
stdout, an XML declaration, a DOCTYPE hvr_private, the root <hvr_private version=\"1.0\">
(as https://fivetran.com/docs/hvr5/faq/how-to/journal-receiver-currently-being-processed
shows it), and per transaction file a <file name=.../> element followed by a <list> of
<int>/<str> values, each after a comment naming its field.

A transaction file holds changes that were captured and not yet integrated into an integrate
location (the simulator shows one per location: the changes waiting for it). No file: nothing
captured waits. Changes committed but not yet captured are in the DBMS journal, not in the
router directory, so they do not show here (hvrstart -w CHN-cap captures them).
The other forms (-s, -x, txfile or hvrfile arguments) and the restriction options are not
simulated. `hvrsim routerstate HUBDB [CHN]` shows the simulator's positions as key=value lines.
",
    link: true,
    run: hvrrouterview,
};

pub const ROUTERSTATE: CommandSpec = CommandSpec {
    name: "routerstate",
    summary: "the simulator's replication positions and backlog as key=value lines",
    usage: "\
Usage: hvrsim routerstate HUBDB [CHN]

Not an HVR command: the simulator's own view of a channel, for its tests and for people.
Prints, for channel CHN (or every channel of the hub), one line:

  channel=CHN pending=N lag_ms=M captured_seq=C integrated_seq=I last_seq=L in_flight=F \\
    phantom=P scheduler=running|stopped initialized=yes|no cap=PENDING|SUSPEND integ=...

then one line per integrate location:

  location=LOC channel=CHN pending=N lag_ms=M integrated_seq=I queued=Q error=<text or ->

pending: local commits not yet acknowledged by the integrate location (0 = flushed);
lag_ms: age of the oldest of them; in_flight: those already captured (captured again at the next
start if the scheduler dies); phantom: a count kept for older state files, never raised by a
restart (reset by hvrinit). queued and error are live values, '-' when the scheduler is stopped.
Works whether or not the scheduler runs.
",
    link: false,
    run: routerstate,
};

pub const HVRINIT: CommandSpec = CommandSpec {
    name: "hvrinit",
    summary: "reset a channel's capture so replication restarts from now",
    usage: "\
Usage: hvrinit HUBDB CHN

Resets channel CHN (HVR simulator): capture restarts after the current end of this node's
DBMS journal, every integrate position moves there too (pending becomes 0) and the phantom
count is cleared. Local changes not yet replicated are discarded, as after a real hvrinit
following an abrupt failover (resynchronize the data with hvrrefresh): HVR 5's hvrinit
discards transaction files still holding data. Its jobs are created SUSPEND, as HVR
Initialize creates them (https://fivetran.com/docs/hvr5/introduction/replication-overview):
hvrsuspend -u (or hvrstart -u) runs them. Refused while the hub's scheduler runs: stop it
first (hvrscheduler -k).
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
    let [hub_name, channel_name] = parsed.exact_operands(["HUBDB", "CHN"])?;
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let channel = hub.channel(channel_name)?;
    let report = channel_report(&layout, hub_name, channel)?;
    print!("{}", routerview_xml(hub_name, &channel.name, &report));
    Ok(exit::OK)
}

/// hvrrouterview's XML: the envelope of HVR 5's example output, one `<file>` and `<list>` per
/// transaction file (here: per integrate location with captured changes waiting).
pub fn routerview_xml(hub: &str, channel: &str, report: &ChannelReport) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE hvr_private SYSTEM \"lib/hvr_private.dtd\">\n\
         <hvr_private version=\"1.0\">\n",
    );
    for location in report.locations.iter().filter(|l| l.captured > 0) {
        xml.push_str(&format!(
            "<file name=\"router/{hub}/{channel}/{loc}/{first:010}-{last:010}.tx\"/>\n<list>\n\
             <!-- integ_loc --><str>{loc}</str>\n\
             <!-- first_seq --><int>{first}</int>\n\
             <!-- last_seq --><int>{last}</int>\n\
             <!-- changes --><int>{count}</int>\n\
             </list>\n",
            loc = location.location,
            first = location.captured_first,
            last = location.captured_last,
            count = location.captured,
        ));
    }
    xml.push_str("</hvr_private>\n");
    xml
}

fn routerstate(args: &[String]) -> SimResult<u8> {
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
        let jobs = ChannelFiles::new(&layout, hub_name, &channel.name).load_jobs()?;
        println!(
            "channel={} pending={} lag_ms={} captured_seq={} integrated_seq={} last_seq={} \
             in_flight={} phantom={} scheduler={scheduler_state} initialized={} cap={} integ={}",
            channel.name,
            report.pending(),
            report.lag_ms(),
            report.captured_seq,
            report.integrated_seq(),
            report.last_seq,
            report.in_flight,
            report.phantom,
            if report.initialized { "yes" } else { "no" },
            job_word(jobs.cap_suspended),
            job_word(jobs.integ_suspended),
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
    files.save_enroll(&channel.capture)?;
    files.save_jobs(JobStates {
        cap_suspended: true,
        integ_suspended: true,
    })?;
    println!(
        "hvrinit (HVR simulator): channel {channel_name} of hub {hub_name} initialized: capture \
         restarts after journal record {end}; {discarded} unreplicated changes discarded; phantom count reset; \
         jobs {channel_name}-cap and {channel_name}-integ created SUSPEND (hvrsuspend -u runs them)"
    );
    Ok(exit::OK)
}

fn job_word(suspended: bool) -> &'static str {
    if suspended {
        "SUSPEND"
    } else {
        "PENDING"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::LocationReport;

    #[test]
    fn routerview_lists_one_file_per_location_with_captured_changes() {
        let location = |name: &str, captured: u64| LocationReport {
            location: name.into(),
            integrated_seq: 10,
            pending: captured + 2,
            lag_ms: 5,
            captured,
            captured_first: 11,
            captured_last: 10 + captured,
        };
        let report = ChannelReport {
            initialized: true,
            captured_seq: 13,
            last_seq: 15,
            phantom: 0,
            in_flight: 3,
            locations: vec![location("db2", 3), location("dr1", 0)],
        };
        let xml = routerview_xml("hub", "chn", &report);
        assert!(xml.starts_with("<?xml version=\"1.0\""), "{xml}");
        assert!(xml.contains("<!DOCTYPE hvr_private SYSTEM \"lib/hvr_private.dtd\">"));
        assert!(xml.contains("<hvr_private version=\"1.0\">"));
        assert!(xml.ends_with("</hvr_private>\n"));
        assert_eq!(xml.matches("<file name=").count(), 1, "{xml}");
        assert!(xml.contains("<file name=\"router/hub/chn/db2/0000000011-0000000013.tx\"/>"));
        assert!(xml.contains("<!-- changes --><int>3</int>"));

        let flushed = ChannelReport {
            locations: vec![location("db2", 0)],
            ..report
        };
        assert!(!routerview_xml("hub", "chn", &flushed).contains("<file"));
    }
}

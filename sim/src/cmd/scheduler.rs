//! hvrscheduler (start, or stop with -k), hvrtestscheduler, and the job commands hvrstart and
//! hvrsuspend.

use std::time::Duration;

use super::listener::probe;
use super::CommandSpec;
use crate::args::{self, Kind};
use crate::catalog::Hub;
use crate::daemon::{self, Instance};
use crate::error::{exit, SimError, SimResult};
use crate::paths::Layout;
use crate::scheduler::{self, Job, BANNER_PREFIX};
use crate::settings;
use crate::timefmt::human;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// hvrstart -w has no time-out of its own (the daemon gives up after an hour).
const CYCLE_REQUEST_TIMEOUT: Duration = Duration::from_secs(3700);

pub const HVRSCHEDULER: CommandSpec = CommandSpec {
    name: "hvrscheduler",
    summary: "start the scheduler of a hub, or stop it (-k)",
    usage: "\
Usage: hvrscheduler HUBDB        start the scheduler daemon of hub HUBDB (HVR simulator)
       hvrscheduler -k HUBDB     stop it

The scheduler captures local changes of this node's simulated DBMS and integrates them into
each channel's integrate locations (through their hvrremotelistener) after HVRSIM_LAG_MS
(default 200 ms). It listens on the hub's scheduler port (HVR_SCHEDULER_PORT, else
scheduler_port in $HVR_CONFIG/hubs/HUBDB/hub.conf, else 4341). Log: $HVR_CONFIG/log/HUBDB/hvr.out.
Starting a second scheduler for the same hub is refused (exit 1).

-k stops the jobs where they are and exits. It does NOT flush (HVR 5's page does not say what
-k does to running jobs): what was captured but not integrated is captured again at the next
start. To flush first: hvrstart -w HUBDB CHN-cap, then hvrstart -w HUBDB CHN-integ.
-k on a stopped scheduler is not an error.
A SIGKILL (or a crash of the node) loses only what the scheduler held in memory: the next start
captures again, from the DBMS journal, what no integrate location acknowledged (W_JSIM02).
",
    link: true,
    run: hvrscheduler,
};

pub const HVRTESTSCHEDULER: CommandSpec = CommandSpec {
    name: "hvrtestscheduler",
    summary: "test whether this node's scheduler of a hub answers",
    usage: "\
Usage: hvrtestscheduler [-tN] HUBDB

Exit 0 if the scheduler of hub HUBDB on this node answers on its scheduler port within N
seconds (default 10), 1 otherwise (HVR simulator).
",
    link: true,
    run: hvrtestscheduler,
};

fn hvrscheduler(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[('k', Kind::Flag)])?;
    let [hub_name] = parsed.exact_operands(["HUBDB"])?;
    let layout = Layout::from_env()?;
    if !parsed.flag('k') {
        let (pid, port) = start(&layout, hub_name)?;
        println!(
            "hvrscheduler (HVR simulator): scheduler of hub {hub_name} started (pid {pid}) on port {port}; log {}",
            layout.hvr_out(hub_name).display()
        );
        return Ok(exit::OK);
    }
    if stop(&layout, hub_name)? {
        println!("hvrscheduler (HVR simulator): scheduler of hub {hub_name} stopped");
    } else {
        println!("hvrscheduler (HVR simulator): scheduler of hub {hub_name} is not running");
    }
    Ok(exit::OK)
}

/// Starts the scheduler daemon of `hub_name`; returns its pid and port. Refused when it runs.
pub fn start(layout: &Layout, hub_name: &str) -> SimResult<(u32, u16)> {
    let hub = Hub::load(layout, hub_name)?;
    let instance = scheduler::instance(layout, hub_name);
    if let Some(pid) = instance.running_pid()? {
        return Err(SimError::failed(format!(
            "the scheduler of hub {hub_name} is already running (pid {pid})"
        )));
    }
    let pid = daemon::spawn(
        &instance,
        layout,
        "hvrscheduler",
        &[hub_name.to_string()],
        START_TIMEOUT,
    )?;
    Ok((pid, hub.scheduler_port()?))
}

/// Stops the scheduler (no flush); false when it was not running.
pub fn stop(layout: &Layout, hub_name: &str) -> SimResult<bool> {
    Hub::load(layout, hub_name)?;
    let instance = scheduler::instance(layout, hub_name);
    if instance.running_pid()?.is_none() {
        return Ok(false);
    }
    instance
        .request("STOP", EXIT_TIMEOUT + Duration::from_secs(10))
        .map_err(|e| SimError::failed(format!("scheduler of hub {hub_name} not stopped: {e}")))?;
    if !instance.wait_stopped(EXIT_TIMEOUT)? {
        return Err(SimError::failed(format!(
            "the scheduler of hub {hub_name} stopped its jobs but did not exit within {}",
            human(EXIT_TIMEOUT)
        )));
    }
    Ok(true)
}

fn hvrtestscheduler(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[('t', Kind::Value)])?;
    let [hub_name] = parsed.exact_operands(["HUBDB"])?;
    let timeout = parsed.duration('t')?.unwrap_or(Duration::from_secs(10));
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let port = hub.scheduler_port()?;
    let host = settings::local_connect_addr()?;
    let answer = probe(&host, port, timeout).and_then(|banner| {
        let ours = banner.starts_with(BANNER_PREFIX)
            && banner.split(' ').any(|w| w == format!("hub={hub_name}"));
        if ours {
            Ok(banner)
        } else {
            Err(format!(
                "port {port} is answered by something else: {banner}"
            ))
        }
    });
    match answer {
        Ok(_) => {
            println!("hvrtestscheduler (HVR simulator): scheduler of hub {hub_name} answers on port {port}");
            Ok(exit::OK)
        }
        Err(reason) => {
            println!("hvrtestscheduler (HVR simulator): scheduler of hub {hub_name} does not answer on {host}:{port}: {reason}");
            Ok(exit::FAILED)
        }
    }
}

pub const HVRSTART: CommandSpec = CommandSpec {
    name: "hvrstart",
    summary: "run one more cycle of jobs through the scheduler (-w: wait for it)",
    usage: "\
Usage: hvrstart [-u] [-r] [-w] HUBDB JOB...

Asks the running scheduler of hub HUBDB for one more cycle of each JOB (HVR simulator), as
HVR 5's hvrstart does through the Scheduler (https://fivetran.com/docs/hvr5/commands/hvrstart).
JOB is a channel (its capture job, then its integrate job), CHN-cap, CHN-cap-LOC, CHN-integ
or CHN-integ-LOC. A capture cycle reads the journal to its end; an integrate cycle sends
everything captured so far, without waiting for the lag.

  -w  wait until each cycle completed (hvrcontrol's trigger file; without a time-out, as in
      HVR: an integrate cycle into an unreachable location waits until it is reachable)
  -u  also run SUSPEND jobs (they become PENDING); without it they are skipped
  -r  accepted (the simulator's jobs have no FAILED or RETRY state)

The scheduler must be running. Exit 0 when every job was triggered (and, with -w, completed),
1 otherwise. -i (run the job inside the command) is not simulated.
",
    link: true,
    run: hvrstart,
};

pub const HVRSUSPEND: CommandSpec = CommandSpec {
    name: "hvrsuspend",
    summary: "force jobs into SUSPEND (-u: back to PENDING)",
    usage: "\
Usage: hvrsuspend [-u] HUBDB JOB...

Forces each JOB into SUSPEND, or with -u back to PENDING (HVR simulator;
https://fivetran.com/docs/hvr5/commands/hvrsuspend). JOB names work as in hvrstart; a bare
channel name suspends all of the channel's jobs. A suspended capture job reads nothing, a
suspended integrate job sends nothing; the state survives a scheduler restart. hvrinit
creates the jobs SUSPEND. The scheduler must be running.
",
    link: true,
    run: hvrsuspend,
};

/// HVR job names of a channel, as hvrstart and hvrsuspend take them: `chn` (every job of the
/// channel: capture, then integrate), `chn-cap`, `chn-cap-LOC`, `chn-integ`, `chn-integ-LOC`.
pub fn resolve_jobs(hub: &Hub, name: &str) -> SimResult<Vec<(String, Job)>> {
    if let Some(channel) = hub.channels.get(name) {
        return Ok(vec![
            (channel.name.clone(), Job::Capture),
            (channel.name.clone(), Job::Integrate),
        ]);
    }
    for channel in hub.channels.values() {
        let Some(rest) = name.strip_prefix(&format!("{}-", channel.name)) else {
            continue;
        };
        let (kind, location) = match rest.split_once('-') {
            Some((kind, location)) => (kind, Some(location)),
            None => (rest, None),
        };
        let job = match kind {
            "cap" => Job::Capture,
            "integ" => Job::Integrate,
            _ => continue,
        };
        let known = match (job, location) {
            (_, None) => true,
            (Job::Capture, Some(loc)) => channel.capture == loc,
            (Job::Integrate, Some(loc)) => channel.integrate.iter().any(|l| l == loc),
        };
        if known {
            return Ok(vec![(channel.name.clone(), job)]);
        }
    }
    Err(SimError::failed(format!(
        "no job of hub {} matches {name:?} (jobs are CHN, CHN-cap[-LOC], CHN-integ[-LOC])",
        hub.name
    )))
}

/// The running scheduler of the hub, or the documented refusal: it must be running.
fn running_scheduler(layout: &Layout, hub_name: &str, command: &str) -> SimResult<Instance> {
    let instance = scheduler::instance(layout, hub_name);
    if instance.running_pid()?.is_none() {
        return Err(SimError::failed(format!(
            "{command} needs the scheduler of hub {hub_name} to be running"
        )));
    }
    Ok(instance)
}

fn hvrstart(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(
        args,
        &[
            ('u', Kind::Flag),
            ('r', Kind::Flag),
            ('w', Kind::Flag),
            ('i', Kind::Flag),
        ],
    )?;
    if parsed.flag('i') {
        return Err(SimError::usage(
            "-i (run the job inside hvrstart) is not simulated",
        ));
    }
    let Some((hub_name, job_names)) = parsed.operands.split_first() else {
        return Err(SimError::usage("expected HUBDB JOB..."));
    };
    if job_names.is_empty() {
        return Err(SimError::usage("expected at least one JOB after HUBDB"));
    }
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let mut jobs = Vec::new();
    for name in job_names {
        jobs.extend(resolve_jobs(&hub, name)?);
    }
    let instance = running_scheduler(&layout, hub_name, "hvrstart")?;
    let (wait, unsuspend) = (parsed.flag('w'), parsed.flag('u'));
    let mut code = exit::OK;
    for (channel, job) in jobs {
        let reply = instance.request(
            &format!(
                "CYCLE {channel} {} {} {}",
                job.word(),
                u8::from(wait),
                u8::from(unsuspend)
            ),
            CYCLE_REQUEST_TIMEOUT,
        )?;
        let (word, text) = reply.split_once(' ').unwrap_or((&reply, ""));
        println!("hvrstart (HVR simulator): {text}");
        if word == "SKIPPED" {
            code = exit::FAILED;
        }
    }
    Ok(code)
}

fn hvrsuspend(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[('u', Kind::Flag)])?;
    let Some((hub_name, job_names)) = parsed.operands.split_first() else {
        return Err(SimError::usage("expected HUBDB JOB..."));
    };
    if job_names.is_empty() {
        return Err(SimError::usage("expected at least one JOB after HUBDB"));
    }
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    let mut jobs = Vec::new();
    for name in job_names {
        jobs.extend(resolve_jobs(&hub, name)?);
    }
    let instance = running_scheduler(&layout, hub_name, "hvrsuspend")?;
    let suspend = !parsed.flag('u');
    for (channel, job) in jobs {
        let reply = instance.request(
            &format!("SUSPEND {channel} {} {}", job.word(), u8::from(suspend)),
            Duration::from_secs(10),
        )?;
        println!(
            "hvrsuspend (HVR simulator): {}",
            reply.strip_prefix("OK ").unwrap_or(&reply)
        );
    }
    Ok(exit::OK)
}

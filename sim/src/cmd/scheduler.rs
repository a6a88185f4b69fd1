//! hvrscheduler (start, or stop with a flush) and hvrtestscheduler.

use std::time::Duration;

use super::listener::probe;
use super::CommandSpec;
use crate::args::{self, Kind};
use crate::catalog::Hub;
use crate::daemon;
use crate::error::{exit, SimError, SimResult};
use crate::paths::Layout;
use crate::scheduler::{self, BANNER_PREFIX};
use crate::settings;
use crate::timefmt::human;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

pub const HVRSCHEDULER: CommandSpec = CommandSpec {
    name: "hvrscheduler",
    summary: "start the scheduler of a hub, or stop it (-k) after flushing",
    usage: "\
Usage: hvrscheduler HUBDB              start the scheduler daemon of hub HUBDB (HVR simulator)
       hvrscheduler -k [-tSECS] HUBDB  stop it gracefully

The scheduler captures local changes of this node's simulated DBMS and integrates them into
each channel's integrate locations (through their hvrremotelistener) after HVRSIM_LAG_MS
(default 200 ms). It listens on the hub's scheduler port (HVR_SCHEDULER_PORT, else
scheduler_port in $HVR_CONFIG/hubs/HUBDB/hub.conf, else 4341). Log: $HVR_CONFIG/log/HUBDB/hvr.out.
Starting a second scheduler for the same hub is refused (exit 1).

-k flushes first: everything committed so far is captured and integrated without waiting for
the lag, then the scheduler exits. If the flush cannot complete within -t seconds (default
HVRSIM_STOP_TIMEOUT, 60 s), e.g. because an integrate location is unreachable, -k exits 1 and
the scheduler keeps running. -k on a stopped scheduler is not an error.
A SIGKILL instead loses the captured changes still in flight (phantom changes).
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
    let parsed = args::parse(args, &[('k', Kind::Flag), ('t', Kind::Value)])?;
    let [hub_name] = parsed.exact_operands(["HUBDB"])?;
    let layout = Layout::from_env()?;
    if !parsed.flag('k') {
        if parsed.value('t')?.is_some() {
            return Err(SimError::usage("-t is the stop timeout; it goes with -k"));
        }
        let (pid, port) = start(&layout, hub_name)?;
        println!(
            "hvrscheduler (HVR simulator): scheduler of hub {hub_name} started (pid {pid}) on port {port}; log {}",
            layout.hvr_out(hub_name).display()
        );
        return Ok(exit::OK);
    }
    let timeout = match parsed.duration('t')? {
        Some(timeout) => timeout,
        None => settings::stop_timeout()?,
    };
    if stop(&layout, hub_name, timeout)? {
        println!(
            "hvrscheduler (HVR simulator): scheduler of hub {hub_name} stopped after integrating every captured change"
        );
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

/// Stops the scheduler after its flush; false when it was not running. When the flush does not
/// complete within `timeout` the scheduler keeps running and this returns the reason.
pub fn stop(layout: &Layout, hub_name: &str, timeout: Duration) -> SimResult<bool> {
    Hub::load(layout, hub_name)?;
    let instance = scheduler::instance(layout, hub_name);
    if instance.running_pid()?.is_none() {
        return Ok(false);
    }
    instance
        .request(
            &format!("STOP {}", timeout.as_millis()),
            timeout + Duration::from_secs(10),
        )
        .map_err(|e| SimError::failed(format!("scheduler of hub {hub_name} not stopped: {e}")))?;
    if !instance.wait_stopped(EXIT_TIMEOUT)? {
        return Err(SimError::failed(format!(
            "the scheduler of hub {hub_name} flushed but did not exit within {}",
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

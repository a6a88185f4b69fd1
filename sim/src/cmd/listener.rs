//! hvrremotelistener (start/stop the remote listener daemon) and hvrtestlistener (does
//! something HVR-like answer on NODE:PORT?).

use std::time::{Duration, Instant};

use super::CommandSpec;
use crate::args::{self, Kind};
use crate::daemon;
use crate::error::{exit, SimError, SimResult};
use crate::net;
use crate::paths::Layout;
use crate::remote_listener;
use crate::timefmt::human;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(10);

pub const HVRREMOTELISTENER: CommandSpec = CommandSpec {
    name: "hvrremotelistener",
    summary: "start (-d) or stop (-k) the remote listener daemon on a port",
    usage: "\
Usage: hvrremotelistener -d PORT    start the remote listener daemon (HVR simulator)
       hvrremotelistener -k PORT    stop it

The remote listener is how hubs reach this node's database: it applies replicated changes,
dumps and refreshes the table. It listens on HVRSIM_BIND_ADDR (default 0.0.0.0):PORT
(HVR's usual port is 4343) and greets each connection with an HVRSIM-LISTENER banner.
Log: $HVR_CONFIG/log/hvrremotelistener/hvrremotelistener_PORT.log.
Starting a running listener, or stopping a stopped one, is not an error.
",
    link: true,
    run: hvrremotelistener,
};

pub const HVRTESTLISTENER: CommandSpec = CommandSpec {
    name: "hvrtestlistener",
    summary: "test whether an HVR listener or scheduler answers on NODE PORT",
    usage: "\
Usage: hvrtestlistener [-tN] [-Llogin/pwd] NODE PORT

Exit 0 only if an HVR simulator server (remote listener or scheduler) really answers on
NODE:PORT within N seconds (default 10; fractions like -t0.3 are allowed): TCP connect plus
its banner. Exit 1 with the reason otherwise (refused, timed out, not an HVR server).
-L is accepted for compatibility; authentication is not simulated.
",
    link: true,
    run: hvrtestlistener,
};

pub fn parse_port(text: &str) -> SimResult<u16> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| SimError::usage(format!("{text:?} is not a TCP port")))
}

fn hvrremotelistener(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[('d', Kind::Flag), ('k', Kind::Flag)])?;
    let [port] = parsed.exact_operands(["PORT"])?;
    let port = parse_port(port)?;
    let (start, stop) = (parsed.flag('d'), parsed.flag('k'));
    if start == stop {
        return Err(SimError::usage(
            "give -d PORT to start the listener daemon or -k PORT to stop it",
        ));
    }
    let layout = Layout::from_env()?;
    let instance = remote_listener::instance(&layout, port);
    let running = instance.running_pid()?;
    if start {
        if let Some(pid) = running {
            println!(
                "hvrremotelistener (HVR simulator): already running on port {port} (pid {pid})"
            );
            return Ok(exit::OK);
        }
        let pid = daemon::spawn(
            &instance,
            &layout,
            "hvrremotelistener",
            &[port.to_string()],
            START_TIMEOUT,
        )?;
        println!(
            "hvrremotelistener (HVR simulator): listening on port {port} (pid {pid}); log {}",
            instance.log_path.display()
        );
        return Ok(exit::OK);
    }
    if running.is_none() {
        println!("hvrremotelistener (HVR simulator): no listener running on port {port}");
        return Ok(exit::OK);
    }
    instance.request("STOP", Duration::from_secs(10))?;
    if !instance.wait_stopped(Duration::from_secs(10))? {
        return Err(SimError::failed(format!(
            "the listener on port {port} did not exit"
        )));
    }
    println!("hvrremotelistener (HVR simulator): listener on port {port} stopped");
    Ok(exit::OK)
}

fn hvrtestlistener(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[('t', Kind::Value), ('L', Kind::Value)])?;
    let [node, port] = parsed.exact_operands(["NODE", "PORT"])?;
    let port = parse_port(port)?;
    let timeout = parsed.duration('t')?.unwrap_or(DEFAULT_TEST_TIMEOUT);
    match probe(node, port, timeout) {
        Ok(banner) => {
            println!("hvrtestlistener (HVR simulator): {node}:{port} answers: {banner}");
            Ok(exit::OK)
        }
        Err(reason) => {
            println!(
                "hvrtestlistener (HVR simulator): no HVR server answers on {node}:{port}: {reason}"
            );
            Ok(exit::FAILED)
        }
    }
}

/// Connects and reads the greeting, all within `timeout`; the greeting must be an HVR
/// simulator server's.
pub fn probe(node: &str, port: u16, timeout: Duration) -> Result<String, String> {
    let started = Instant::now();
    let stream = net::connect(node, port, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            format!("no answer within {}", human(timeout))
        }
        _ => e.to_string(),
    })?;
    let remaining = timeout.saturating_sub(started.elapsed());
    let banner = net::read_banner(&stream, remaining).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => format!(
            "connected, but no greeting within {}; something else listens there",
            human(timeout)
        ),
        _ => format!("connected, but {e}"),
    })?;
    if !banner.starts_with("HVRSIM-") {
        return Err(format!(
            "something answers but it is not an HVR server (it said {:?})",
            banner.chars().take(60).collect::<String>()
        ));
    }
    Ok(banner)
}

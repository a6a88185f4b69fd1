//! Tunables read from the environment. Real HVR gets its environment from the hvrfailover.opt
//! `-env=` lines and /etc/hvrtab; the simulator's own knobs all start with `HVRSIM_`.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{SimError, SimResult};
use crate::timefmt::parse_duration;

pub const DEFAULT_DB_PORT: u16 = 21064;
pub const DEFAULT_LISTENER_PORT: u16 = 4343;
pub const DEFAULT_SCHEDULER_PORT: u16 = 4341;

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parse<T: FromStr>(name: &str, default: T, what: &str) -> SimResult<T> {
    match env_value(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| SimError::usage(format!("{name}={text:?} is not {what}"))),
    }
}

fn env_duration(name: &str, default: Duration, unit: &str) -> SimResult<Duration> {
    match env_value(name) {
        None => Ok(default),
        Some(text) => {
            parse_duration(&text, unit).map_err(|e| SimError::usage(format!("{name}: {e}")))
        }
    }
}

/// The DBMS client port (the simulated Ingres communication server, iigcc).
pub fn db_port() -> SimResult<u16> {
    env_parse("HVRSIM_DB_PORT", DEFAULT_DB_PORT, "a TCP port")
}

/// Address every TCP server binds. The lab binds all addresses so clients reach the DBMS
/// through the virtual IP; tests on one host give each simulated node its own loopback address.
pub fn bind_addr() -> SimResult<IpAddr> {
    env_parse(
        "HVRSIM_BIND_ADDR",
        IpAddr::from([0, 0, 0, 0]),
        "an IP address",
    )
}

/// The address local commands use to reach this node's own servers.
pub fn local_connect_addr() -> SimResult<String> {
    let bind = bind_addr()?;
    Ok(if bind.is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        bind.to_string()
    })
}

/// `HVR_SCHEDULER_PORT` overrides the hub catalog's `scheduler_port`.
pub fn scheduler_port_override() -> SimResult<Option<u16>> {
    match env_value("HVR_SCHEDULER_PORT") {
        None => Ok(None),
        Some(_) => env_parse("HVR_SCHEDULER_PORT", 0, "a TCP port").map(Some),
    }
}

/// Minimum time between a change's commit and its integration on the peer.
pub fn integrate_lag() -> SimResult<Duration> {
    env_duration("HVRSIM_LAG_MS", Duration::from_millis(200), "ms")
}

pub fn capture_poll() -> SimResult<Duration> {
    env_duration("HVRSIM_CAPTURE_POLL_MS", Duration::from_millis(50), "ms")
}

/// Pause before retrying an integrate location that failed.
pub fn integrate_retry() -> SimResult<Duration> {
    env_duration("HVRSIM_RETRY_MS", Duration::from_millis(1000), "ms")
}

/// Records per journal segment before the DBMS starts a new one (a new "journal file").
pub fn segment_records() -> SimResult<u64> {
    let records = env_parse("HVRSIM_JOURNAL_SEGMENT_RECORDS", 10_000, "a record count")?;
    if records == 0 {
        return Err(SimError::usage(
            "HVRSIM_JOURNAL_SEGMENT_RECORDS must be at least 1",
        ));
    }
    Ok(records)
}

/// Whether every commit is forced to disk. Off by default: the lab kills processes, not
/// machines, and a write() already survives a process kill.
pub fn db_fsync() -> SimResult<bool> {
    env_parse("HVRSIM_DB_FSYNC", 0u8, "0 or 1").map(|v| v != 0)
}

/// The name the DBMS reports to clients (`PONG <name>`), so a client sees which node served it.
pub fn node_name() -> String {
    env_value("HVRSIM_NODE_NAME")
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

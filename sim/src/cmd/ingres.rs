//! ingstart, ingstop, ingstatus: the simulated DBMS's control commands, named after Ingres's.

use std::time::Duration;

use super::CommandSpec;
use crate::args::{self, Kind};
use crate::daemon;
use crate::dbms;
use crate::error::{exit, SimError, SimResult};
use crate::hubproto::reply_fields;
use crate::paths::Layout;
use crate::settings;

const START_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub const INGSTART: CommandSpec = CommandSpec {
    name: "ingstart",
    summary: "start the simulated DBMS, or (-iigcc) its communication server",
    usage: "\
Usage: ingstart           start the simulated DBMS (HVR simulator's stand-in for Ingres)
       ingstart -iigcc    open the DBMS client port again after ingstop -iigcc

The DBMS daemon keeps its database under $HVR_CONFIG/simdb and serves clients on
HVRSIM_DB_PORT (default 21064) on HVRSIM_BIND_ADDR (default 0.0.0.0).
Log: $HVR_CONFIG/log/ingres/errlog.log. Starting a running DBMS is not an error.
",
    link: true,
    run: ingstart,
};

pub const INGSTOP: CommandSpec = CommandSpec {
    name: "ingstop",
    summary: "stop the simulated DBMS, or (-iigcc) break all client connections",
    usage: "\
Usage: ingstop            stop the simulated DBMS (HVR simulator)
       ingstop -iigcc     close the DBMS client port and break every client connection;
                          the DBMS keeps running (ingstart -iigcc opens the port again)

Stopping what is not running is not an error.
",
    link: true,
    run: ingstop,
};

pub const INGSTATUS: CommandSpec = CommandSpec {
    name: "ingstatus",
    summary: "show whether the simulated DBMS and its client port are up",
    usage: "\
Usage: ingstatus

Prints the simulated DBMS's status (HVR simulator): pid, client port open or closed, rows,
last journal sequence number. Exit 0 when the DBMS runs, 1 when it does not.
",
    link: true,
    run: ingstatus,
};

/// Only `-iigcc` is simulated (`-i` with value `igcc`).
fn gcc_only(args: &[String], command: &str) -> SimResult<bool> {
    let parsed = args::parse(args, &[('i', Kind::Value)])?;
    parsed.exact_operands([])?;
    match parsed.value('i')? {
        None => Ok(false),
        Some("igcc") => Ok(true),
        Some(other) => Err(SimError::usage(format!(
            "{command}: -i{other} is not simulated (only -iigcc)"
        ))),
    }
}

fn ingstart(args: &[String]) -> SimResult<u8> {
    let gcc = gcc_only(args, "ingstart")?;
    let layout = Layout::from_env()?;
    let instance = dbms::instance(&layout);
    let running = instance.running_pid()?;
    if gcc {
        if running.is_none() {
            return Err(SimError::failed(
                "the simulated DBMS is not running; start it with ingstart",
            ));
        }
        let reply = instance.request("IIGCC START", REQUEST_TIMEOUT)?;
        let port = reply_fields(&reply)
            .get("port")
            .copied()
            .unwrap_or("?")
            .to_string();
        if reply.starts_with("OK already-started") {
            println!("ingstart (HVR simulator): communication server (iigcc) already running on port {port}");
        } else {
            println!(
                "ingstart (HVR simulator): communication server (iigcc) started on port {port}"
            );
        }
        return Ok(exit::OK);
    }
    if let Some(pid) = running {
        println!("ingstart (HVR simulator): the simulated DBMS is already running (pid {pid})");
        return Ok(exit::OK);
    }
    let pid = daemon::spawn(&instance, &layout, "ingstart", &[], START_TIMEOUT)?;
    println!(
        "ingstart (HVR simulator): simulated DBMS started (pid {pid}); communication server \
         (iigcc) on port {}; log {}",
        settings::db_port()?,
        instance.log_path.display()
    );
    Ok(exit::OK)
}

fn ingstop(args: &[String]) -> SimResult<u8> {
    let gcc = gcc_only(args, "ingstop")?;
    let layout = Layout::from_env()?;
    let instance = dbms::instance(&layout);
    if instance.running_pid()?.is_none() {
        println!("ingstop (HVR simulator): the simulated DBMS is not running");
        return Ok(exit::OK);
    }
    if gcc {
        let reply = instance.request("IIGCC STOP", REQUEST_TIMEOUT)?;
        if reply.starts_with("OK already-stopped") {
            println!("ingstop (HVR simulator): communication server (iigcc) was not running");
        } else {
            let dropped = reply_fields(&reply)
                .get("clients_dropped")
                .copied()
                .unwrap_or("?")
                .to_string();
            println!(
                "ingstop (HVR simulator): communication server (iigcc) stopped; {dropped} client connections broken"
            );
        }
        return Ok(exit::OK);
    }
    instance.request("SHUTDOWN", REQUEST_TIMEOUT)?;
    if !instance.wait_stopped(REQUEST_TIMEOUT)? {
        return Err(SimError::failed(
            "the simulated DBMS did not exit after SHUTDOWN",
        ));
    }
    println!("ingstop (HVR simulator): simulated DBMS stopped");
    Ok(exit::OK)
}

fn ingstatus(args: &[String]) -> SimResult<u8> {
    args::parse(args, &[])?.exact_operands([])?;
    let layout = Layout::from_env()?;
    let instance = dbms::instance(&layout);
    if instance.running_pid()?.is_none() {
        println!("iidbms=stopped (HVR simulator)");
        return Ok(exit::FAILED);
    }
    let reply = instance.request("STATUS", REQUEST_TIMEOUT)?;
    println!(
        "iidbms=running {} (HVR simulator)",
        reply.strip_prefix("OK ").unwrap_or(&reply)
    );
    Ok(exit::OK)
}

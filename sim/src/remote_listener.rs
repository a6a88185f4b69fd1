//! The remote listener daemon (`hvrremotelistener -d PORT`): the gateway through which a hub on
//! another node (or this one) reaches this node's database. It greets every connection with a
//! banner and relays hub protocol requests to the local DBMS's control socket.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::Duration;

use crate::codec::{read_line, MAX_LINE};
use crate::daemon::{signal_ready, DaemonLock, Instance};
use crate::dbms;
use crate::error::SimResult;
use crate::hubproto::{self, HubClient, HubRequest, LISTENER_BANNER_PREFIX};
use crate::log::Logger;
use crate::net;
use crate::paths::Layout;
use crate::settings;

/// Generous: a refresh of a large table is one request.
const DBMS_TIMEOUT: Duration = Duration::from_secs(120);

pub fn instance(layout: &Layout, port: u16) -> Instance {
    Instance::new(
        layout,
        &format!("hvrremotelistener_{port}"),
        format!("remote listener on port {port}"),
        layout
            .log_dir("hvrremotelistener")
            .join(format!("hvrremotelistener_{port}.log")),
    )
}

pub fn run_daemon(layout: &Layout, port: u16) -> SimResult<()> {
    let instance = instance(layout, port);
    let lock = DaemonLock::acquire(&instance)?;
    let log = Logger::new(instance.log_path.clone(), "hvrremotelistener");
    let bind = settings::bind_addr()?;
    let tcp = net::bind(bind, port, "hvrremotelistener")?;
    let control = lock.bind_control()?;
    let node = settings::node_name();
    let banner = format!(
        "{LISTENER_BANNER_PREFIX} 1 hvr-simulator/{} node={node} (HVR simulator)",
        settings::version()
    );
    {
        let (layout, log, banner) = (layout.clone(), log.clone(), banner.clone());
        thread::spawn(move || {
            let never = AtomicBool::new(false);
            let _ = net::accept_loop(&tcp, &never, |stream| {
                let (layout, log, banner) = (layout.clone(), log.clone(), banner.clone());
                thread::spawn(move || serve(stream, &layout, &log, &banner));
            });
        });
    }
    log.info(&format!(
        "Remote listener (simulator) started on {bind}:{port}, pid {}",
        std::process::id()
    ));
    signal_ready();
    for stream in control.incoming().flatten() {
        let Ok(read_half) = stream.try_clone() else {
            continue;
        };
        let mut reader = BufReader::new(read_half);
        let mut out = stream;
        let Ok(Some(line)) = read_line(&mut reader, 4096) else {
            continue;
        };
        match line.as_str() {
            "STOP" => {
                log.info("Remote listener (simulator) stopped (hvrremotelistener -k)");
                let _ = out.write_all(b"OK stopped\n");
                lock.remove_files();
                std::process::exit(0);
            }
            "PING" => {
                let _ = out.write_all(format!("PONG hvrremotelistener port={port}\n").as_bytes());
            }
            other => {
                let _ =
                    out.write_all(format!("ERR unknown control request {other:?}\n").as_bytes());
            }
        }
    }
    Ok(())
}

fn serve(stream: TcpStream, layout: &Layout, log: &Logger, banner: &str) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    if out.write_all(format!("{banner}\n").as_bytes()).is_err() {
        return;
    }
    while let Ok(Some(line)) = read_line(&mut reader, MAX_LINE) {
        if !hubproto::is_hub_request(&line) {
            let _ = out.write_all(format!("ERR unknown request {line:?}\n").as_bytes());
            continue;
        }
        let request = match hubproto::read_request(&line, &mut reader) {
            Ok(request) => request,
            Err(message) => {
                log.warn("W_JSIM40", &format!("bad request from {peer}: {message}"));
                let _ = out.write_all(format!("ERR {message}\n").as_bytes());
                return;
            }
        };
        let pong = format!("PONG hvrremotelistener node={}", settings::node_name());
        let answered = if request == HubRequest::Ping {
            out.write_all(format!("{pong}\n").as_bytes())
        } else {
            match dbms::instance(layout).connect(DBMS_TIMEOUT) {
                Ok(conn) => {
                    let mut backend = HubClient::new(conn, "DBMS");
                    hubproto::answer(&request, &mut backend, &pong, &mut out)
                }
                Err(e) => out.write_all(
                    format!(
                        "ERR the DBMS on this node is not running (start it with ingstart): {e}\n"
                    )
                    .as_bytes(),
                ),
            }
        };
        if answered.is_err() {
            return;
        }
    }
}

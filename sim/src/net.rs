//! TCP plumbing shared by the daemons and the commands that talk to them.

use std::io::{self, BufReader};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::codec::read_line;
use crate::error::{SimError, SimResult};

/// How often a server checks its stop flag while no connection arrives.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// Connects to `host:port`, trying every address `host` resolves to, within `timeout` overall.
pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + timeout;
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    let mut last_error = None;
    for addr in addrs {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, remaining) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from {host}:{port}"),
        )
    }))
}

/// Reads the one-line greeting a simulator server sends on connect.
pub fn read_banner(stream: &TcpStream, timeout: Duration) -> io::Result<String> {
    stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
    let mut reader = BufReader::new(stream);
    read_line(&mut reader, 4096)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed without a greeting",
        )
    })
}

pub fn bind(addr: IpAddr, port: u16, what: &str) -> SimResult<TcpListener> {
    TcpListener::bind((addr, port))
        .map_err(|e| SimError::failed(format!("cannot listen on {addr}:{port} for {what}: {e}")))
}

/// Accepts connections until `stop` is set, handing each to `on_connection`.
pub fn accept_loop(
    listener: &TcpListener,
    stop: &AtomicBool,
    mut on_connection: impl FnMut(TcpStream),
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                on_connection(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // WouldBlock: nothing pending. Anything else (e.g. out of descriptors): back off
            // instead of spinning.
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
    Ok(())
}

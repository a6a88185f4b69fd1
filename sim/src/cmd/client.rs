//! hvrsimclient: a database client of the simulated DBMS, for the lab's client node. `write`
//! inserts rows continuously, reconnecting whenever the connection breaks, and records every
//! acknowledged key, so a test knows exactly which commits it was promised (RPO) and how long
//! it went without service (RTO as a client sees it).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::CommandSpec;
use crate::args::{parse_gnu, Gnu};
use crate::codec::read_line;
use crate::error::{exit, Context, SimError, SimResult};
use crate::net;
use crate::settings;
use crate::timefmt::{format_utc, now_ms, parse_duration};

const LISTED_KEYS: usize = 20;

pub const HVRSIMCLIENT: CommandSpec = CommandSpec {
    name: "hvrsimclient",
    summary: "database client of the simulated DBMS (write rows, count, checksum, verify)",
    usage: "\
Usage: hvrsimclient write --host H [--port P] --prefix X (--count N | --duration D | --stop-file F)
                          [--interval-ms 100] [--acked-log FILE] [--start 1]
                          [--connect-timeout-ms 1000] [--io-timeout-ms 2000] [--retry-ms 100]
       hvrsimclient count|checksum|ping --host H [--port P]
       hvrsimclient get KEY --host H [--port P] [--table simtable]
       hvrsimclient put KEY VALUE --host H [--port P] [--table simtable]
       hvrsimclient verify --host H [--port P] --acked-log FILE [--prefix X]

A client of the HVR simulator's DBMS (port default HVRSIM_DB_PORT, 21064), e.g. through the
virtual IP.

write inserts keys X-00000001, X-00000002, ... one every --interval-ms. A broken connection
is reopened (every --retry-ms) and writing goes on with the next key. Each acknowledged key is
appended to --acked-log as it is acknowledged; a key whose INSERT got no answer is 'in doubt'
(it may or may not be committed). Progress goes to stderr; at the end one summary line goes to
stdout:
  acked=N rejected=R in_doubt=D attempts=A connects=C max_gap_ms=G max_gap_from=T1
  max_gap_to=T2 duration_ms=T servers=bc1,bc2
max_gap_ms is the longest time between two acknowledgements: the outage the client saw
(it includes one --interval-ms). servers lists the DBMS nodes that served it, in order.

get prints the value of KEY (exit 0), or says there is no such row (exit 1). put sets KEY to
VALUE (a delete, if the row exists, then an insert: two commits). --table may only name the
simulated DBMS's one table, simtable (what a canary row names).

verify checks that every key in --acked-log exists on the server: prints
'acked=N present=M missing=K' and the missing keys (lost commits); exit 0 only when none is
missing.
",
    link: true,
    run: hvrsimclient,
};

const VALUE_OPTIONS: &[&str] = &[
    "host",
    "port",
    "prefix",
    "count",
    "duration",
    "stop-file",
    "interval-ms",
    "acked-log",
    "start",
    "connect-timeout-ms",
    "io-timeout-ms",
    "retry-ms",
    "table",
];

fn hvrsimclient(args: &[String]) -> SimResult<u8> {
    let options = parse_gnu(args, VALUE_OPTIONS, &[])?;
    let (action, rest) = options.operands.split_first().ok_or_else(|| {
        SimError::usage("expected an action: write, count, checksum, ping, get, verify")
    })?;
    let server = Server::from_options(&options)?;
    if let Some(table) = options.get("table") {
        if table != super::refresh::TABLE {
            return Err(SimError::usage(format!(
                "--table {table}: the simulated DBMS has one table, {}",
                super::refresh::TABLE
            )));
        }
    }
    match (action.as_str(), rest) {
        ("write", []) => write(&options, &server),
        ("count", []) => simple(&server, "COUNT"),
        ("checksum", []) => simple(&server, "CHECKSUM"),
        ("ping", []) => simple(&server, "PING"),
        ("get", [key]) => get(&server, key),
        ("put", [key, value]) => put(&server, key, value),
        ("verify", []) => verify(&options, &server),
        _ => Err(SimError::usage(format!(
            "unexpected arguments {:?}",
            options.operands
        ))),
    }
}

struct Server {
    host: String,
    port: u16,
    connect_timeout: Duration,
    io_timeout: Duration,
}

impl Server {
    fn from_options(options: &Gnu) -> SimResult<Self> {
        Ok(Server {
            host: options.required("host")?.to_string(),
            port: match options.number("port")? {
                Some(port) => port,
                None => settings::db_port()?,
            },
            connect_timeout: Duration::from_millis(
                options.number("connect-timeout-ms")?.unwrap_or(1000),
            ),
            io_timeout: Duration::from_millis(options.number("io-timeout-ms")?.unwrap_or(2000)),
        })
    }

    fn open(&self) -> std::io::Result<Session> {
        let stream = net::connect(&self.host, self.port, self.connect_timeout)?;
        stream.set_read_timeout(Some(self.io_timeout))?;
        stream.set_write_timeout(Some(self.io_timeout))?;
        let mut session = Session {
            reader: BufReader::new(stream.try_clone()?),
            stream,
            node: String::new(),
        };
        // The PING proves the DBMS serves (not just that the port is open) and names the node.
        let pong = session.call("PING")?;
        session.node = pong
            .strip_prefix("PONG ")
            .ok_or_else(|| std::io::Error::other(format!("unexpected reply to PING: {pong:?}")))?
            .to_string();
        Ok(session)
    }

    fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

struct Session {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    /// The DBMS node that serves this session.
    node: String,
}

impl Session {
    fn call(&mut self, request: &str) -> std::io::Result<String> {
        self.stream.write_all(format!("{request}\n").as_bytes())?;
        read_line(&mut self.reader, 1 << 16)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            )
        })
    }

    fn keys(&mut self, prefix: &str) -> std::io::Result<BTreeSet<String>> {
        let header = self.call(&format!("KEYS {prefix}"))?;
        let count: usize = header
            .strip_prefix("KEYS ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("unexpected reply {header:?}")))?;
        let mut keys = BTreeSet::new();
        for _ in 0..count {
            let key = read_line(&mut self.reader, 1 << 16)?.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "key list cut off")
            })?;
            keys.insert(key);
        }
        Ok(keys)
    }
}

fn connect(server: &Server) -> SimResult<Session> {
    server
        .open()
        .map_err(|e| SimError::failed(format!("cannot reach the DBMS at {}: {e}", server.name())))
}

fn simple(server: &Server, request: &str) -> SimResult<u8> {
    let reply = connect(server)?
        .call(request)
        .map_err(|e| SimError::failed(format!("{}: {e}", server.name())))?;
    if let Some(message) = reply.strip_prefix("ERR ") {
        return Err(SimError::failed(format!("{}: {message}", server.name())));
    }
    println!("{}", reply.strip_prefix("PONG ").unwrap_or(&reply));
    Ok(exit::OK)
}

fn get(server: &Server, key: &str) -> SimResult<u8> {
    let reply = connect(server)?
        .call(&format!("GET {key}"))
        .map_err(|e| SimError::failed(format!("{}: {e}", server.name())))?;
    match reply.strip_prefix("VALUE ") {
        Some(value) => {
            println!("{value}");
            Ok(exit::OK)
        }
        None if reply == "VALUE" => {
            println!();
            Ok(exit::OK)
        }
        None if reply == "NONE" => {
            eprintln!("hvrsimclient: no row with key {key}");
            Ok(exit::FAILED)
        }
        None => Err(SimError::failed(format!("{}: {reply}", server.name()))),
    }
}

fn put(server: &Server, key: &str, value: &str) -> SimResult<u8> {
    let failed = |e: std::io::Error| SimError::failed(format!("{}: {e}", server.name()));
    let mut session = connect(server)?;
    let deleted = session.call(&format!("DELETE {key}")).map_err(failed)?;
    if deleted != "OK" && !deleted.starts_with("ERR no such key") {
        return Err(SimError::failed(format!("{}: {deleted}", server.name())));
    }
    let inserted = session
        .call(&format!("INSERT {key} {value}"))
        .map_err(failed)?;
    if inserted != "OK" {
        return Err(SimError::failed(format!("{}: {inserted}", server.name())));
    }
    println!("{key} = {value} (committed on {})", session.node);
    Ok(exit::OK)
}

fn verify(options: &Gnu, server: &Server) -> SimResult<u8> {
    let log = options.required("acked-log")?;
    let text = std::fs::read_to_string(log).context(|| format!("reading {log}"))?;
    let acked: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let present = connect(server)?
        .keys(options.get("prefix").unwrap_or(""))
        .map_err(|e| SimError::failed(format!("{}: {e}", server.name())))?;
    let missing: Vec<&&str> = acked.iter().filter(|k| !present.contains(**k)).collect();
    println!(
        "acked={} present={} missing={}",
        acked.len(),
        acked.len() - missing.len(),
        missing.len()
    );
    for key in missing.iter().take(LISTED_KEYS) {
        println!("  missing: {key}");
    }
    if missing.len() > LISTED_KEYS {
        println!("  ... and {} more", missing.len() - LISTED_KEYS);
    }
    Ok(if missing.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

enum Limit {
    Count(u64),
    Until(Instant),
    StopFile,
}

#[derive(Default)]
struct Tally {
    acked: u64,
    rejected: u64,
    in_doubt: u64,
    attempts: u64,
    connects: u64,
    max_gap_ms: u64,
    max_gap_from_ms: u64,
    max_gap_to_ms: u64,
    servers: Vec<String>,
}

fn progress(message: &str) {
    eprintln!("{}: hvrsimclient: {message}", format_utc(now_ms()));
}

fn write(options: &Gnu, server: &Server) -> SimResult<u8> {
    let prefix = options.required("prefix")?.to_string();
    crate::codec::check_key(&prefix).map_err(|e| SimError::usage(format!("--prefix: {e}")))?;
    let stop_file = options.get("stop-file").map(PathBuf::from);
    let limit = match (options.number::<u64>("count")?, options.get("duration")) {
        (Some(_), Some(_)) => return Err(SimError::usage("give --count or --duration, not both")),
        (Some(count), None) => Limit::Count(count),
        (None, Some(text)) => {
            let duration = parse_duration(text, "s")
                .map_err(|e| SimError::usage(format!("--duration: {e}")))?;
            Limit::Until(Instant::now() + duration)
        }
        (None, None) if stop_file.is_some() => Limit::StopFile,
        (None, None) => {
            return Err(SimError::usage(
                "give --count N, --duration D or --stop-file F so the writer knows when to stop",
            ))
        }
    };
    let interval = Duration::from_millis(options.number("interval-ms")?.unwrap_or(100));
    let retry = Duration::from_millis(options.number("retry-ms")?.unwrap_or(100));
    let mut next_key: u64 = options.number("start")?.unwrap_or(1);
    let mut acked_log = options
        .get("acked-log")
        .map(|path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .context(|| format!("opening {path}"))
        })
        .transpose()?;

    let started = Instant::now();
    let mut tally = Tally::default();
    let mut session: Option<Session> = None;
    let mut last_ack: Option<(Instant, u64)> = None;
    let mut unreachable_reported = false;
    let mut next_write = Instant::now();
    loop {
        let done = match &limit {
            Limit::Count(count) => tally.attempts >= *count,
            Limit::Until(deadline) => Instant::now() >= *deadline,
            Limit::StopFile => false,
        } || stop_file.as_deref().is_some_and(Path::exists);
        if done {
            break;
        }
        let Some(current) = session.as_mut() else {
            match server.open() {
                Ok(opened) => {
                    tally.connects += 1;
                    let node = opened.node.clone();
                    progress(&format!("connected to {} (server {node})", server.name()));
                    if tally.servers.last() != Some(&node) {
                        tally.servers.push(node);
                    }
                    unreachable_reported = false;
                    session = Some(opened);
                }
                Err(e) => {
                    if !unreachable_reported {
                        progress(&format!(
                            "cannot connect to {}: {e}; retrying",
                            server.name()
                        ));
                        unreachable_reported = true;
                    }
                    thread::sleep(retry);
                }
            }
            continue;
        };
        let wait = next_write.saturating_duration_since(Instant::now());
        thread::sleep(wait);
        next_write = Instant::now().max(next_write) + interval;
        let key = format!("{prefix}-{next_key:08}");
        next_key += 1;
        tally.attempts += 1;
        match current.call(&format!("INSERT {key} t={}", now_ms())) {
            Ok(reply) if reply == "OK" => {
                tally.acked += 1;
                if let Some(file) = acked_log.as_mut() {
                    record(file, &key)?;
                }
                let now = (Instant::now(), now_ms());
                if let Some((previous, previous_ms)) = last_ack {
                    let gap = now.0.duration_since(previous).as_millis() as u64;
                    if gap > tally.max_gap_ms {
                        tally.max_gap_ms = gap;
                        tally.max_gap_from_ms = previous_ms;
                        tally.max_gap_to_ms = now.1;
                    }
                }
                last_ack = Some(now);
            }
            Ok(reply) if reply.starts_with("ERR ") => {
                tally.rejected += 1;
                progress(&format!("{key} rejected: {reply}"));
            }
            outcome => {
                tally.in_doubt += 1;
                let reason = match outcome {
                    Ok(reply) => format!("unexpected reply {reply:?}"),
                    Err(e) => e.to_string(),
                };
                progress(&format!(
                    "connection lost ({reason}); {key} is in doubt; reconnecting"
                ));
                session = None;
            }
        }
    }
    println!(
        "acked={} rejected={} in_doubt={} attempts={} connects={} max_gap_ms={} max_gap_from={} \
         max_gap_to={} duration_ms={} servers={}",
        tally.acked,
        tally.rejected,
        tally.in_doubt,
        tally.attempts,
        tally.connects,
        tally.max_gap_ms,
        stamp(tally.max_gap_from_ms),
        stamp(tally.max_gap_to_ms),
        started.elapsed().as_millis(),
        if tally.servers.is_empty() {
            "-".to_string()
        } else {
            tally.servers.join(",")
        }
    );
    Ok(exit::OK)
}

fn stamp(ms: u64) -> String {
    if ms == 0 {
        "-".to_string()
    } else {
        format_utc(ms).replace(' ', "T")
    }
}

/// One line per acknowledgement, written straight away: if the client is killed, the log still
/// lists every commit it was told about.
fn record(file: &mut File, key: &str) -> SimResult<()> {
    file.write_all(format!("{key}\n").as_bytes())
        .context(|| "writing the acked log")
}

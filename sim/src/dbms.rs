//! The simulated DBMS, the lab's stand-in for Ingres: one daemon per node holding the database.
//!
//! * The communication server (iigcc) serves database clients on TCP (`HVRSIM_DB_PORT`, default
//!   21064) with the protocol in `clientproto`. `ingstop -iigcc` closes the port and breaks every
//!   client connection; `ingstart -iigcc` opens it again.
//! * The control socket (`$HVR_CONFIG/files/iidbms.sock`) serves this node's HVR commands: the
//!   hub protocol (`hubproto`) relayed by hvrremotelistener, plus STATUS, IIGCC STOP|START and
//!   SHUTDOWN.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use crate::clientproto::{self, ClientRequest};
use crate::codec::{read_line, MAX_LINE};
use crate::daemon::{signal_ready, DaemonLock, Instance};
use crate::database::{ApplyStats, Database, DbOptions, ReplaceStats, Rows, WriteError};
use crate::error::SimResult;
use crate::hubproto::{self, HubBackend};
use crate::journal::Change;
use crate::log::Logger;
use crate::net;
use crate::paths::Layout;
use crate::settings;

pub fn instance(layout: &Layout) -> Instance {
    Instance::new(
        layout,
        "iidbms",
        "simulated DBMS (iidbms)",
        layout.log_dir("ingres").join("errlog.log"),
    )
}

type Clients = Arc<Mutex<HashMap<u64, TcpStream>>>;

/// The open communication server.
struct Gcc {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    clients: Clients,
}

struct Dbms {
    db: Mutex<Database>,
    gcc: Mutex<Option<Gcc>>,
    log: Logger,
    node: String,
    bind: IpAddr,
    port: u16,
    lock: DaemonLock,
}

/// A poisoned lock only means another connection's thread panicked; the data is still whole
/// because every change is journalled before the table is touched.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn run_daemon(layout: &Layout) -> SimResult<()> {
    let instance = instance(layout);
    let lock = DaemonLock::acquire(&instance)?;
    let log = Logger::new(instance.log_path.clone(), "iidbms");
    let options = DbOptions {
        segment_records: settings::segment_records()?,
        fsync: settings::db_fsync()?,
    };
    let db = Database::open(&layout.db_dir(), options)?;
    let control = lock.bind_control()?;
    let (rows, last_seq) = (db.count(), db.last_seq());
    let dbms = Arc::new(Dbms {
        db: Mutex::new(db),
        gcc: Mutex::new(None),
        log,
        node: settings::node_name(),
        bind: settings::bind_addr()?,
        port: settings::db_port()?,
        lock,
    });
    dbms.open_gcc()?;
    dbms.log.info(&format!(
        "DBMS (simulator) started, pid {}, {rows} rows, last change {last_seq}, \
         communication server on {}:{}",
        std::process::id(),
        dbms.bind,
        dbms.port
    ));
    signal_ready();
    for stream in control.incoming().flatten() {
        let dbms = Arc::clone(&dbms);
        thread::spawn(move || dbms.serve_control(stream));
    }
    Ok(())
}

impl Dbms {
    fn open_gcc(self: &Arc<Self>) -> SimResult<bool> {
        let mut gcc = lock(&self.gcc);
        if gcc.is_some() {
            return Ok(false);
        }
        let listener = net::bind(
            self.bind,
            self.port,
            "the DBMS communication server (iigcc)",
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Clients = Arc::default();
        let thread = {
            let (dbms, stop, clients) = (Arc::clone(self), Arc::clone(&stop), Arc::clone(&clients));
            thread::spawn(move || {
                let mut next_id = 0u64;
                let _ = net::accept_loop(&listener, &stop, |stream| {
                    next_id += 1;
                    let id = next_id;
                    if let Ok(handle) = stream.try_clone() {
                        lock(&clients).insert(id, handle);
                    }
                    let (dbms, clients) = (Arc::clone(&dbms), Arc::clone(&clients));
                    thread::spawn(move || {
                        dbms.serve_client(stream);
                        lock(&clients).remove(&id);
                    });
                });
            })
        };
        *gcc = Some(Gcc {
            stop,
            thread: Some(thread),
            clients,
        });
        Ok(true)
    }

    /// Closes the client port and breaks every client connection; `None` if it was closed.
    fn close_gcc(&self) -> Option<usize> {
        let mut gcc = lock(&self.gcc).take()?;
        gcc.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = gcc.thread.take() {
            // The listener is dropped when the accept thread ends: new connections are refused.
            let _ = thread.join();
        }
        let clients: Vec<TcpStream> = lock(&gcc.clients).drain().map(|(_, s)| s).collect();
        for client in &clients {
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(clients.len())
    }

    fn serve_client(&self, stream: TcpStream) {
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut out = stream;
        loop {
            let (reply, close) = match read_line(&mut reader, 8192) {
                Ok(Some(line)) => match clientproto::parse(&line) {
                    Ok(request) => self.client_reply(request),
                    Err(message) => (format!("ERR {message}\n"), false),
                },
                Ok(None) => return,
                Err(e) => (format!("ERR {e}\n"), true),
            };
            if out.write_all(reply.as_bytes()).is_err() || close {
                return;
            }
        }
    }

    fn client_reply(&self, request: ClientRequest) -> (String, bool) {
        let written = |result: Result<u64, WriteError>, key: &str, db: &mut Database| match result {
            Ok(_) => {
                self.rotate(db);
                "OK\n".to_string()
            }
            Err(WriteError::Duplicate) => format!("ERR duplicate key {key}\n"),
            Err(WriteError::NotFound) => format!("ERR no such key {key}\n"),
            Err(WriteError::Failed(e)) => {
                self.log.error("F_JSIM01", &format!("commit failed: {e}"));
                format!("ERR commit failed: {e}\n")
            }
        };
        let reply = match request {
            ClientRequest::Ping => format!("PONG {}\n", self.node),
            ClientRequest::Insert { key, value } => {
                let mut db = lock(&self.db);
                let result = db.insert(&key, &value);
                written(result, &key, &mut db)
            }
            ClientRequest::Delete { key } => {
                let mut db = lock(&self.db);
                let result = db.delete(&key);
                written(result, &key, &mut db)
            }
            ClientRequest::Get { key } => match lock(&self.db).get(&key) {
                Some(value) => format!("VALUE {value}\n"),
                None => "NONE\n".to_string(),
            },
            ClientRequest::Count => format!("{}\n", lock(&self.db).count()),
            ClientRequest::Checksum => format!("{}\n", lock(&self.db).checksum()),
            ClientRequest::Keys { prefix } => {
                let db = lock(&self.db);
                let keys: Vec<&String> = db
                    .rows()
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .collect();
                let mut text = format!("KEYS {}\n", keys.len());
                for key in keys {
                    text.push_str(key);
                    text.push('\n');
                }
                text
            }
            ClientRequest::Quit => return ("BYE\n".to_string(), true),
        };
        (reply, false)
    }

    fn rotate(&self, db: &mut Database) {
        if let Err(e) = db.maybe_rotate() {
            self.log.error(
                "F_JSIM02",
                &format!("cannot start a new journal segment: {e}"),
            );
        }
    }

    fn serve_control(self: &Arc<Self>, stream: UnixStream) {
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut out = stream;
        while let Ok(Some(line)) = read_line(&mut reader, MAX_LINE) {
            if hubproto::is_hub_request(&line) {
                let request = match hubproto::read_request(&line, &mut reader) {
                    Ok(request) => request,
                    Err(message) => {
                        let _ = out.write_all(format!("ERR {message}\n").as_bytes());
                        return;
                    }
                };
                let pong = format!("PONG iidbms pid={} node={}", std::process::id(), self.node);
                if hubproto::answer(&request, &mut LockedDb(self), &pong, &mut out).is_err() {
                    return;
                }
                continue;
            }
            let reply = match line.as_str() {
                "STATUS" => self.status_line(),
                "IIGCC STOP" => match self.close_gcc() {
                    Some(dropped) => {
                        self.log.info(&format!(
                            "communication server stopped (ingstop -iigcc); {dropped} client connections broken"
                        ));
                        format!("OK stopped clients_dropped={dropped}")
                    }
                    None => "OK already-stopped".to_string(),
                },
                "IIGCC START" => match self.open_gcc() {
                    Ok(true) => {
                        self.log.info(&format!(
                            "communication server started (ingstart -iigcc) on {}:{}",
                            self.bind, self.port
                        ));
                        format!("OK started port={}", self.port)
                    }
                    Ok(false) => format!("OK already-started port={}", self.port),
                    Err(e) => format!("ERR {e}"),
                },
                "SHUTDOWN" => self.shutdown(&mut out),
                other => format!("ERR unknown control request {other:?}"),
            };
            if out.write_all(format!("{reply}\n").as_bytes()).is_err() {
                return;
            }
        }
    }

    fn status_line(&self) -> String {
        let db = lock(&self.db);
        let gcc = if lock(&self.gcc).is_some() {
            "open"
        } else {
            "closed"
        };
        format!(
            "OK pid={} node={} iigcc={gcc} port={} rows={} last_seq={}",
            std::process::id(),
            self.node,
            self.port,
            db.count(),
            db.last_seq()
        )
    }

    /// Stops the DBMS. Holding the database lock while exiting guarantees no commit is cut off
    /// half-way.
    fn shutdown(&self, out: &mut UnixStream) -> String {
        let db = lock(&self.db);
        self.close_gcc();
        self.log.info(&format!(
            "DBMS (simulator) stopped (ingstop), {} rows, last change {}",
            db.count(),
            db.last_seq()
        ));
        let _ = out.write_all(b"OK stopped\n");
        self.lock.remove_files();
        std::process::exit(0);
    }
}

/// The hub protocol answered straight from the database.
struct LockedDb<'a>(&'a Dbms);

impl HubBackend for LockedDb<'_> {
    fn apply(&mut self, changes: &[Change]) -> SimResult<ApplyStats> {
        let mut db = lock(&self.0.db);
        let stats = db.apply(changes)?;
        self.0.rotate(&mut db);
        Ok(stats)
    }

    fn dump(&mut self) -> SimResult<Rows> {
        Ok(lock(&self.0.db).rows().clone())
    }

    fn replace(&mut self, rows: &Rows) -> SimResult<ReplaceStats> {
        let mut db = lock(&self.0.db);
        let stats = db.replace(rows)?;
        self.0.rotate(&mut db);
        self.0.log.info(&format!(
            "table replaced by hvrrefresh: {} inserted, {} updated, {} deleted",
            stats.inserted, stats.updated, stats.deleted
        ));
        Ok(stats)
    }

    fn count(&mut self) -> SimResult<u64> {
        Ok(lock(&self.0.db).count())
    }

    fn checksum(&mut self) -> SimResult<String> {
        Ok(lock(&self.0.db).checksum())
    }
}

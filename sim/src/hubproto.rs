//! The protocol between hub-side commands (scheduler, hvrrefresh, hvrcompare) and a node's
//! database: spoken over TCP to hvrremotelistener, which relays it to the DBMS's control socket.
//!
//! Requests: `PING`, `COUNT`, `CHECKSUM`, `DUMP`, `APPLY <n>` + n change records,
//! `REPLACE <n>` + n rows (`<key> <value>`, escaped). Replies are one line (`OK ...`,
//! `COUNT n`, `CHECKSUM hex`, `ERR message`) except DUMP: `ROWS n`, n rows, `END`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};

use crate::codec::{escape, read_line, unescape, MAX_LINE};
use crate::database::{ApplyStats, ReplaceStats, Rows};
use crate::error::{SimError, SimResult};
use crate::journal::Change;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubRequest {
    Ping,
    Count,
    Checksum,
    Dump,
    Apply(Vec<Change>),
    Replace(Rows),
}

/// What a hub request is answered from: the database itself (in the DBMS) or a connection to
/// the DBMS (in the listener).
pub trait HubBackend {
    fn apply(&mut self, changes: &[Change]) -> SimResult<ApplyStats>;
    fn dump(&mut self) -> SimResult<Rows>;
    fn replace(&mut self, rows: &Rows) -> SimResult<ReplaceStats>;
    fn count(&mut self) -> SimResult<u64>;
    fn checksum(&mut self) -> SimResult<String>;
}

/// The keyword of `line` if it starts a hub request.
pub fn is_hub_request(line: &str) -> bool {
    let word = line.split(' ').next().unwrap_or("");
    matches!(
        word,
        "PING" | "COUNT" | "CHECKSUM" | "DUMP" | "APPLY" | "REPLACE"
    )
}

/// Parses a request whose first line has been read; reads its body from `reader`.
pub fn read_request<R: BufRead>(first: &str, reader: &mut R) -> Result<HubRequest, String> {
    let mut words = first.split(' ');
    let verb = words.next().unwrap_or("");
    let count = |words: &mut std::str::Split<'_, char>| -> Result<usize, String> {
        words
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{verb} needs a record count"))
    };
    let request = match verb {
        "PING" => HubRequest::Ping,
        "COUNT" => HubRequest::Count,
        "CHECKSUM" => HubRequest::Checksum,
        "DUMP" => HubRequest::Dump,
        "APPLY" => {
            let n = count(&mut words)?;
            let mut changes = Vec::with_capacity(n.min(100_000));
            for _ in 0..n {
                let line = body_line(reader)?;
                changes.push(Change::decode(&line)?);
            }
            HubRequest::Apply(changes)
        }
        "REPLACE" => {
            let n = count(&mut words)?;
            let mut rows = Rows::new();
            for _ in 0..n {
                let (key, value) = decode_row(&body_line(reader)?)?;
                rows.insert(key, value);
            }
            HubRequest::Replace(rows)
        }
        other => return Err(format!("unknown request {other:?}")),
    };
    if words.next().is_some() {
        return Err(format!("unexpected arguments in {first:?}"));
    }
    Ok(request)
}

fn body_line<R: BufRead>(reader: &mut R) -> Result<String, String> {
    read_line(reader, MAX_LINE)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "connection closed in the middle of a request".to_string())
}

pub fn encode_row(key: &str, value: &str) -> String {
    format!("{} {}", escape(key), escape(value))
}

pub fn decode_row(line: &str) -> Result<(String, String), String> {
    let (key, value) = line
        .split_once(' ')
        .ok_or_else(|| format!("malformed row {line:?}"))?;
    Ok((unescape(key)?, unescape(value)?))
}

pub fn encode_request(request: &HubRequest) -> String {
    match request {
        HubRequest::Ping => "PING\n".into(),
        HubRequest::Count => "COUNT\n".into(),
        HubRequest::Checksum => "CHECKSUM\n".into(),
        HubRequest::Dump => "DUMP\n".into(),
        HubRequest::Apply(changes) => {
            let mut text = format!("APPLY {}\n", changes.len());
            for change in changes {
                text.push_str(&change.encode());
                text.push('\n');
            }
            text
        }
        HubRequest::Replace(rows) => {
            let mut text = format!("REPLACE {}\n", rows.len());
            for (key, value) in rows {
                text.push_str(&encode_row(key, value));
                text.push('\n');
            }
            text
        }
    }
}

/// Answers one request; backend failures become `ERR` replies, I/O failures are returned.
pub fn answer<W: Write>(
    request: &HubRequest,
    backend: &mut dyn HubBackend,
    pong: &str,
    out: &mut W,
) -> io::Result<()> {
    let reply = match request {
        HubRequest::Ping => Ok(format!("{pong}\n")),
        HubRequest::Count => backend.count().map(|n| format!("COUNT {n}\n")),
        HubRequest::Checksum => backend.checksum().map(|c| format!("CHECKSUM {c}\n")),
        HubRequest::Apply(changes) => backend
            .apply(changes)
            .map(|s| format!("OK applied={} unchanged={}\n", s.applied, s.unchanged)),
        HubRequest::Replace(rows) => backend.replace(rows).map(|s| {
            format!(
                "OK inserted={} updated={} deleted={}\n",
                s.inserted, s.updated, s.deleted
            )
        }),
        HubRequest::Dump => backend.dump().map(|rows| {
            let mut text = format!("ROWS {}\n", rows.len());
            for (key, value) in &rows {
                text.push_str(&encode_row(key, value));
                text.push('\n');
            }
            text.push_str("END\n");
            text
        }),
    };
    let text = reply.unwrap_or_else(|e| format!("ERR {}\n", e.message().replace('\n', " ")));
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// `key=value` fields of a reply line such as `OK inserted=1 updated=0 deleted=2`.
pub fn reply_fields(line: &str) -> BTreeMap<&str, &str> {
    line.split(' ').filter_map(|w| w.split_once('=')).collect()
}

fn field(line: &str, name: &str) -> SimResult<u64> {
    reply_fields(line)
        .get(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| SimError::failed(format!("unexpected reply {line:?}")))
}

/// Connects to a node's hvrremotelistener and checks its greeting.
pub fn connect_listener(
    node: &str,
    port: u16,
    timeout: std::time::Duration,
    label: &str,
) -> SimResult<HubClient<std::net::TcpStream>> {
    let stream = crate::net::connect(node, port, timeout)
        .map_err(|e| SimError::failed(format!("{label}: cannot connect to {node}:{port}: {e}")))?;
    let banner = crate::net::read_banner(&stream, timeout)
        .map_err(|e| SimError::failed(format!("{label}: {node}:{port} sent no greeting: {e}")))?;
    if !banner.starts_with(LISTENER_BANNER_PREFIX) {
        return Err(SimError::failed(format!(
            "{label}: {node}:{port} is not an HVR simulator remote listener (it said {banner:?})"
        )));
    }
    let reply_timeout = Some(std::time::Duration::from_secs(120));
    let _ = stream.set_read_timeout(reply_timeout);
    let _ = stream.set_write_timeout(reply_timeout);
    Ok(HubClient::new(stream, label.to_string()))
}

/// First word of hvrremotelistener's greeting.
pub const LISTENER_BANNER_PREFIX: &str = "HVRSIM-LISTENER";

/// The hub side of a connection to a database (through a listener, or straight to the DBMS).
pub struct HubClient<S: Read + Write> {
    reader: BufReader<S>,
    peer: String,
}

impl<S: Read + Write> HubClient<S> {
    pub fn new(stream: S, peer: impl Into<String>) -> Self {
        HubClient {
            reader: BufReader::new(stream),
            peer: peer.into(),
        }
    }

    pub fn get_ref(&self) -> &S {
        self.reader.get_ref()
    }

    /// Sends a request and returns the first reply line; an `ERR` reply is an error.
    fn call(&mut self, request: &HubRequest) -> SimResult<String> {
        let peer = self.peer.clone();
        let io_error = |e: io::Error| SimError::failed(format!("{peer}: {e}"));
        let stream = self.reader.get_mut();
        stream
            .write_all(encode_request(request).as_bytes())
            .and_then(|()| stream.flush())
            .map_err(io_error)?;
        let line = read_line(&mut self.reader, MAX_LINE)
            .map_err(io_error)?
            .ok_or_else(|| SimError::failed(format!("{peer}: connection closed")))?;
        match line.strip_prefix("ERR ") {
            Some(message) => Err(SimError::failed(format!("{peer}: {message}"))),
            None => Ok(line),
        }
    }

    pub fn ping(&mut self) -> SimResult<String> {
        self.call(&HubRequest::Ping)
    }
}

impl<S: Read + Write> HubBackend for HubClient<S> {
    fn apply(&mut self, changes: &[Change]) -> SimResult<ApplyStats> {
        let line = self.call(&HubRequest::Apply(changes.to_vec()))?;
        Ok(ApplyStats {
            applied: field(&line, "applied")?,
            unchanged: field(&line, "unchanged")?,
        })
    }

    fn dump(&mut self) -> SimResult<Rows> {
        let line = self.call(&HubRequest::Dump)?;
        let count: usize = line
            .strip_prefix("ROWS ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| SimError::failed(format!("{}: unexpected reply {line:?}", self.peer)))?;
        let mut rows = Rows::new();
        for _ in 0..count {
            let row = body_line(&mut self.reader)
                .and_then(|l| decode_row(&l))
                .map_err(|e| SimError::failed(format!("{}: {e}", self.peer)))?;
            rows.insert(row.0, row.1);
        }
        match body_line(&mut self.reader) {
            Ok(end) if end == "END" => Ok(rows),
            _ => Err(SimError::failed(format!(
                "{}: row dump not terminated",
                self.peer
            ))),
        }
    }

    fn replace(&mut self, rows: &Rows) -> SimResult<ReplaceStats> {
        let line = self.call(&HubRequest::Replace(rows.clone()))?;
        Ok(ReplaceStats {
            inserted: field(&line, "inserted")?,
            updated: field(&line, "updated")?,
            deleted: field(&line, "deleted")?,
        })
    }

    fn count(&mut self) -> SimResult<u64> {
        let line = self.call(&HubRequest::Count)?;
        line.strip_prefix("COUNT ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| SimError::failed(format!("{}: unexpected reply {line:?}", self.peer)))
    }

    fn checksum(&mut self) -> SimResult<String> {
        let line = self.call(&HubRequest::Checksum)?;
        line.strip_prefix("CHECKSUM ")
            .map(str::to_string)
            .ok_or_else(|| SimError::failed(format!("{}: unexpected reply {line:?}", self.peer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Op, Origin};
    use std::io::Cursor;

    fn parse(text: &str) -> Result<HubRequest, String> {
        let mut reader = Cursor::new(text.as_bytes().to_vec());
        let first = read_line(&mut reader, MAX_LINE).unwrap().unwrap();
        read_request(&first, &mut reader)
    }

    #[test]
    fn requests_round_trip_through_their_wire_form() {
        let change = Change {
            seq: 3,
            ts_ms: 9,
            origin: Origin::Local,
            key: "k 1".into(),
            op: Op::Put("v".into()),
        };
        let mut rows = Rows::new();
        rows.insert("a b".into(), "".into());
        rows.insert("c".into(), "line\nbreak".into());
        for request in [
            HubRequest::Ping,
            HubRequest::Count,
            HubRequest::Checksum,
            HubRequest::Dump,
            HubRequest::Apply(vec![change.clone(), change]),
            HubRequest::Replace(rows),
            HubRequest::Apply(Vec::new()),
        ] {
            assert_eq!(parse(&encode_request(&request)), Ok(request));
        }
    }

    #[test]
    fn truncated_or_unknown_requests_are_refused() {
        assert!(parse("APPLY 2\n1 1 L P k v\n")
            .unwrap_err()
            .contains("closed"));
        assert!(parse("APPLY\n").is_err());
        assert!(parse("SHUTDOWN\n").is_err());
        assert!(parse("COUNT extra\n").is_err());
        assert!(!is_hub_request("SHUTDOWN"));
        assert!(is_hub_request("APPLY 3"));
    }

    /// A backend over an in-memory table, to drive `answer` and `HubClient` against each other.
    struct Table(Rows);

    impl HubBackend for Table {
        fn apply(&mut self, changes: &[Change]) -> SimResult<ApplyStats> {
            for c in changes {
                if let Op::Put(v) = &c.op {
                    self.0.insert(c.key.clone(), v.clone());
                }
            }
            Ok(ApplyStats {
                applied: changes.len() as u64,
                unchanged: 0,
            })
        }
        fn dump(&mut self) -> SimResult<Rows> {
            Ok(self.0.clone())
        }
        fn replace(&mut self, _rows: &Rows) -> SimResult<ReplaceStats> {
            Err(SimError::failed("read only"))
        }
        fn count(&mut self) -> SimResult<u64> {
            Ok(self.0.len() as u64)
        }
        fn checksum(&mut self) -> SimResult<String> {
            Ok(crate::database::checksum(&self.0))
        }
    }

    /// Plays a server: answers whatever requests were written, then serves the replies.
    struct Loopback {
        table: Table,
        pending: Vec<u8>,
        replies: Cursor<Vec<u8>>,
    }

    impl Write for Loopback {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            let mut input = Cursor::new(std::mem::take(&mut self.pending));
            let mut out = Vec::new();
            while let Some(first) = read_line(&mut input, MAX_LINE)? {
                let request = read_request(&first, &mut input).map_err(io::Error::other)?;
                answer(&request, &mut self.table, "PONG test", &mut out)?;
            }
            let position = self.replies.position() as usize;
            let mut rest = self.replies.get_ref()[position..].to_vec();
            rest.extend(out);
            self.replies = Cursor::new(rest);
            Ok(())
        }
    }

    impl Read for Loopback {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.replies.read(buf)
        }
    }

    #[test]
    fn client_and_server_agree() {
        let mut client = HubClient::new(
            Loopback {
                table: Table(Rows::new()),
                pending: Vec::new(),
                replies: Cursor::new(Vec::new()),
            },
            "test",
        );
        assert_eq!(client.ping().unwrap(), "PONG test");
        let change = Change {
            seq: 1,
            ts_ms: 0,
            origin: Origin::Local,
            key: "k".into(),
            op: Op::Put("v w".into()),
        };
        assert_eq!(client.apply(&[change]).unwrap().applied, 1);
        assert_eq!(client.count().unwrap(), 1);
        let rows = client.dump().unwrap();
        assert_eq!(rows.get("k").map(String::as_str), Some("v w"));
        assert_eq!(client.checksum().unwrap(), crate::database::checksum(&rows));
        let err = client.replace(&Rows::new()).unwrap_err();
        assert!(err.message().contains("read only"), "{err}");
    }
}

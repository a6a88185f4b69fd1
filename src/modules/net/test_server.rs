//! A tiny HTTP/1.1 server on 127.0.0.1 for the get_url and uri tests (the
//! unit tests use it as `net::test_server`; tests/support includes this file
//! by path as `support::http`). One thread, one connection at a time, `Connection: close`.
//!
//! Routes: `GET /file` (a fixed text; `/file?v=N` a variant), `GET /json`,
//! `/echo` (any method: the method, request headers and body as JSON),
//! `/status/NNN` (that status), `/redirect` (302 to /file), `/slow` (sleeps
//! 3 s). Anything else is 404. Every request is counted.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

pub struct HttpServer {
    pub address: String,
    pub port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

pub const FILE_BODY: &str = "payload from the test server\n";

impl HttpServer {
    pub fn start() -> HttpServer {
        HttpServer::start_on("127.0.0.1")
    }

    /// Listen on `address` (loopback, or the lab's address of this machine).
    pub fn start_on(address: &str) -> HttpServer {
        let listener = TcpListener::bind((address, 0)).expect("bind the test server");
        let port = listener.local_addr().expect("local addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (Arc::clone(&hits), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    h.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || {
                        let _ = serve(stream);
                    });
                }
            }
        });
        HttpServer {
            address: address.to_string(),
            port,
            hits,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.address, self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so the thread ends.
        let _ = TcpStream::connect((self.address.as_str(), self.port));
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        let h = h.trim_end().to_string();
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, ctype, out, extra): (u16, &str, Vec<u8>, String) = match path {
        "/file" if query.is_empty() => (200, "text/plain", FILE_BODY.into(), String::new()),
        "/file" => (
            200,
            "text/plain",
            format!("variant {query}\n").into(),
            String::new(),
        ),
        "/json" => (
            200,
            "application/json",
            br#"{"name": "baton", "items": [1, 2]}"#.to_vec(),
            String::new(),
        ),
        "/echo" => {
            let mut h = serde_json::Map::new();
            for (k, v) in &headers {
                h.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
            let v = serde_json::json!({
                "method": method,
                "headers": h,
                "body": String::from_utf8_lossy(&body),
            });
            (
                200,
                "application/json; charset=utf-8",
                v.to_string().into(),
                String::new(),
            )
        }
        "/redirect" => (
            302,
            "text/plain",
            b"moved\n".to_vec(),
            "Location: /file\r\n".into(),
        ),
        "/dir/" => (200, "text/html", b"<p>index</p>\n".to_vec(), String::new()),
        "/attachment" => (
            200,
            "text/csv",
            b"a,b\n".to_vec(),
            "Content-Disposition: attachment; filename=\"../report.csv\"\r\n".into(),
        ),
        "/slow" => {
            std::thread::sleep(std::time::Duration::from_secs(3));
            (200, "text/plain", b"late\n".to_vec(), String::new())
        }
        p if p.starts_with("/status/") => (
            p[8..].parse().unwrap_or(500),
            "text/plain",
            format!("status {}\n", &p[8..]).into(),
            String::new(),
        ),
        _ => (404, "text/plain", b"not found\n".to_vec(), String::new()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nX-Baton-Test: yes\r\n{extra}Connection: close\r\n\r\n",
        out.len()
    )?;
    if method != "HEAD" {
        stream.write_all(&out)?;
    }
    stream.flush()
}

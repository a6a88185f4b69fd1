//! Field encoding shared by the journal, snapshots and the hub protocol. Every field becomes one
//! token without spaces or line breaks, so a record is one line that splits unambiguously.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read};

/// Longest protocol line accepted; protects daemons from unbounded memory use by a bad peer.
pub const MAX_LINE: usize = 1 << 20;

/// Percent-encodes every byte that is not printable ASCII, and `%` itself.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for &byte in raw.as_bytes() {
        if (0x21..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

pub fn unescape(token: &str) -> Result<String, String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = token
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("truncated escape in {token:?}"))?;
            let value = u8::from_str_radix(hex, 16)
                .map_err(|_| format!("bad escape %{hex} in {token:?}"))?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("escaped field {token:?} is not UTF-8"))
}

/// Reads one line without its terminator (`\n` or `\r\n`); `None` at end of stream.
/// A last line without terminator is returned as is.
pub fn read_line<R: BufRead>(reader: &mut R, max: usize) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let read = reader
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if read == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line longer than {max} bytes"),
        ));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "line is not UTF-8"))
}

/// A key as clients may write it: printable ASCII without spaces, at most 256 bytes.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty key".into());
    }
    if key.len() > 256 {
        return Err(format!("key longer than 256 bytes: {key:.40}..."));
    }
    if !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(format!(
            "key {key:?} must be printable ASCII without spaces"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn escape_round_trips_awkward_text() {
        for raw in [
            "",
            "plain",
            "two words",
            "100%",
            "tab\tnew\nline",
            "é ü €",
            "%41",
        ] {
            let token = escape(raw);
            assert!(!token.contains([' ', '\n', '\t', '\r']), "{token:?}");
            assert_eq!(unescape(&token).as_deref(), Ok(raw));
        }
    }

    #[test]
    fn escape_leaves_printable_ascii_alone() {
        assert_eq!(escape("run1-00000042"), "run1-00000042");
        assert_eq!(escape("a b%"), "a%20b%25");
    }

    #[test]
    fn unescape_rejects_broken_escapes() {
        assert!(unescape("abc%4").is_err());
        assert!(unescape("abc%zz").is_err());
        assert!(unescape("%FF").is_err(), "invalid UTF-8 must be refused");
    }

    #[test]
    fn read_line_strips_terminators_and_reports_eof() {
        let mut input = Cursor::new(b"PING\r\nCOUNT\nlast".to_vec());
        assert_eq!(read_line(&mut input, 100).unwrap().as_deref(), Some("PING"));
        assert_eq!(
            read_line(&mut input, 100).unwrap().as_deref(),
            Some("COUNT")
        );
        assert_eq!(read_line(&mut input, 100).unwrap().as_deref(), Some("last"));
        assert_eq!(read_line(&mut input, 100).unwrap(), None);
    }

    #[test]
    fn read_line_refuses_overlong_lines() {
        let mut input = Cursor::new(vec![b'x'; 50]);
        let err = read_line(&mut input, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn keys_must_be_printable_tokens() {
        assert!(check_key("run1-00000001").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("has space").is_err());
        assert!(check_key(&"k".repeat(257)).is_err());
    }
}

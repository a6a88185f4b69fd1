//! The DBMS client protocol: what a database client speaks to the communication server
//! (the simulated iigcc), e.g. from baton-client through the virtual IP. One request per line:
//!
//! | request               | reply                                   |
//! |-----------------------|-----------------------------------------|
//! | `PING`                | `PONG <node name>`                      |
//! | `INSERT <key> <value>`| `OK` or `ERR duplicate key <key>`       |
//! | `DELETE <key>`        | `OK` or `ERR no such key <key>`         |
//! | `GET <key>`           | `VALUE <value>` or `NONE`               |
//! | `COUNT`               | the number of rows                      |
//! | `CHECKSUM`            | 16 hex digits over the sorted table     |
//! | `KEYS [<prefix>]`     | `KEYS <n>`, then n keys one per line    |
//! | `QUIT`                | `BYE`, then the server closes           |
//!
//! Keys are printable ASCII without spaces; a value is the rest of the line.

use crate::codec::check_key;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRequest {
    Ping,
    Insert { key: String, value: String },
    Delete { key: String },
    Get { key: String },
    Count,
    Checksum,
    Keys { prefix: String },
    Quit,
}

pub fn parse(line: &str) -> Result<ClientRequest, String> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let verb = verb.to_ascii_uppercase();
    let key = |text: &str| -> Result<String, String> {
        let key = text.trim();
        check_key(key)?;
        Ok(key.to_string())
    };
    let no_args = |request: ClientRequest| -> Result<ClientRequest, String> {
        if rest.trim().is_empty() {
            Ok(request)
        } else {
            Err(format!("{verb} takes no arguments"))
        }
    };
    match verb.as_str() {
        "PING" => no_args(ClientRequest::Ping),
        "COUNT" => no_args(ClientRequest::Count),
        "CHECKSUM" => no_args(ClientRequest::Checksum),
        "QUIT" => no_args(ClientRequest::Quit),
        "INSERT" => {
            let (k, value) = rest.split_once(' ').unwrap_or((rest, ""));
            if value.len() > 4096 {
                return Err("value longer than 4096 bytes".into());
            }
            Ok(ClientRequest::Insert {
                key: key(k)?,
                value: value.to_string(),
            })
        }
        "DELETE" => Ok(ClientRequest::Delete { key: key(rest)? }),
        "GET" => Ok(ClientRequest::Get { key: key(rest)? }),
        "KEYS" => {
            let prefix = rest.trim();
            if prefix.contains(' ') {
                return Err("KEYS takes at most one prefix".into());
            }
            Ok(ClientRequest::Keys {
                prefix: prefix.to_string(),
            })
        }
        "" => Err("empty request".into()),
        _ => Err(format!(
            "unknown request {verb:?} (PING, INSERT, DELETE, GET, COUNT, CHECKSUM, KEYS, QUIT)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request() {
        assert_eq!(parse("PING"), Ok(ClientRequest::Ping));
        assert_eq!(parse("ping"), Ok(ClientRequest::Ping));
        assert_eq!(
            parse("INSERT run1-00000001 t=17 and more"),
            Ok(ClientRequest::Insert {
                key: "run1-00000001".into(),
                value: "t=17 and more".into()
            })
        );
        assert_eq!(
            parse("INSERT k"),
            Ok(ClientRequest::Insert {
                key: "k".into(),
                value: "".into()
            })
        );
        assert_eq!(
            parse("DELETE k"),
            Ok(ClientRequest::Delete { key: "k".into() })
        );
        assert_eq!(parse("GET k"), Ok(ClientRequest::Get { key: "k".into() }));
        assert_eq!(parse("COUNT"), Ok(ClientRequest::Count));
        assert_eq!(parse("CHECKSUM"), Ok(ClientRequest::Checksum));
        assert_eq!(parse("KEYS"), Ok(ClientRequest::Keys { prefix: "".into() }));
        assert_eq!(
            parse("KEYS run1-"),
            Ok(ClientRequest::Keys {
                prefix: "run1-".into()
            })
        );
        assert_eq!(parse("QUIT"), Ok(ClientRequest::Quit));
    }

    #[test]
    fn refuses_malformed_requests() {
        for bad in [
            "",
            "INSERT",
            "INSERT  v",
            "GET",
            "GET a b",
            "COUNT 3",
            "DROP TABLE",
            "KEYS a b",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("INSERT k {}", "x".repeat(5000));
        assert!(parse(&long).is_err());
    }
}

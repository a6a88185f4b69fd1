//! Turning what ssh wrote to its log into a `TransportError` an operator can act on.
//!
//! ssh reports every failure as text, so this is pattern matching on OpenSSH's
//! messages. They have been stable for many releases; anything unrecognised
//! still comes through as the most telling line ssh wrote.

use crate::transport::{ConnectionSpec, TransportError};

/// Why the master connection could not be opened.
pub fn connect_failure(log: &str, spec: &ConnectionSpec) -> TransportError {
    let lines = meaningful_lines(log);
    if let Some(error) = host_key_failure(&lines, spec) {
        return error;
    }
    TransportError::Unreachable(
        pick(&lines, CONNECT_REASONS)
            .unwrap_or("ssh exited without saying why")
            .to_string(),
    )
}

/// Why a master connection that was up has gone away; `log` is what the
/// master wrote after it connected.
pub fn connection_lost(log: &str) -> TransportError {
    let lines = meaningful_lines(log);
    TransportError::Unreachable(match pick(&lines, LOST_REASONS) {
        Some(reason) => format!("connection lost: {reason}"),
        None => "connection lost: the ssh master connection ended".to_string(),
    })
}

/// Lines that say what went wrong, most specific first.
const CONNECT_REASONS: &[&str] = &[
    "Permission denied",
    "connect to host",
    "connect to address",
    "Could not resolve hostname",
    "Too many authentication failures",
    "Bad configuration option",
    "bad configuration option",
    "Bad owner or permissions",
    "Connection closed by",
    "Connection reset by",
    "Connection timed out",
    "kex_exchange_identification",
    "Timeout, server",
    "Load key",
];

const LOST_REASONS: &[&str] = &[
    "Timeout, server",
    "closed by remote host",
    "Connection to",
    "Connection reset",
    "Broken pipe",
    "client_loop",
];

fn meaningful_lines(log: &str) -> Vec<&str> {
    log.lines()
        .map(|line| line.trim_matches(|c: char| c == '\r' || c.is_whitespace()))
        .map(|line| line.strip_prefix("ssh: ").unwrap_or(line))
        .filter(|line| !line.is_empty() && !line.starts_with("Warning: Permanently added"))
        .collect()
}

/// The last line containing one of `reasons`, trying `reasons` in order; else the last line.
fn pick<'a>(lines: &[&'a str], reasons: &[&str]) -> Option<&'a str> {
    reasons
        .iter()
        .find_map(|reason| lines.iter().rev().find(|line| line.contains(reason)))
        .or(lines.last())
        .copied()
}

fn host_key_failure(lines: &[&str], spec: &ConnectionSpec) -> Option<TransportError> {
    let find = |needle: &str| lines.iter().copied().find(|line| line.contains(needle));
    let changed = find("REMOTE HOST IDENTIFICATION HAS CHANGED")
        .or_else(|| find("has changed and you have requested strict checking"));
    if changed.is_some() {
        // "Offending ED25519 key in /root/.ssh/known_hosts:3" names the file and line.
        let offending = find("Offending ")
            .or_else(|| find("Add correct host key in"))
            .unwrap_or("the recorded key no longer matches");
        let fix = match find("ssh-keygen -f") {
            Some(command) => format!("remove the old entry with `{command}`"),
            None => format!(
                "remove the old entry from {} (ssh-keygen -R)",
                known_hosts_name(spec)
            ),
        };
        return Some(TransportError::HostKey(format!(
            "the host key has CHANGED ({offending}). This can be a man-in-the-middle attack, \
             or the host was reinstalled. If the change is expected, {fix} and connect again; \
             --ssh-accept-new never overrides a changed key"
        )));
    }
    if let Some(unknown) = find("host key is known for") {
        let file = known_hosts_name(spec);
        return Some(TransportError::HostKey(format!(
            "{} in {file}. Check the host's fingerprint and add its key to {file} \
             (for example `ssh-keyscan{} {} >> {file}`), or run with --ssh-accept-new \
             to record unknown keys on first connect",
            unknown
                .trim_end_matches('.')
                .replace(" and you have requested strict checking", ""),
            spec.port.map(|p| format!(" -p {p}")).unwrap_or_default(),
            spec.address,
        )));
    }
    find("Host key verification failed").map(|_| {
        TransportError::HostKey(
            lines
                .iter()
                .filter(|line| !line.starts_with('@'))
                .copied()
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn known_hosts_name(spec: &ConnectionSpec) -> String {
    match &spec.known_hosts {
        Some(path) => path.display().to_string(),
        None => "~/.ssh/known_hosts".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ConnectionKind;
    use std::path::PathBuf;

    fn spec() -> ConnectionSpec {
        ConnectionSpec {
            kind: ConnectionKind::Ssh,
            address: "127.0.0.1".into(),
            port: Some(2222),
            known_hosts: Some(PathBuf::from("/lab/known_hosts")),
            ..ConnectionSpec::local("bc1")
        }
    }

    // Verbatim from OpenSSH 9.2 (`ssh -E LOG`), CRLF line ends included.
    const CHANGED: &str = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n\
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n\
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n\
Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r\n\
It is also possible that a host key has just been changed.\r\n\
The fingerprint for the ED25519 key sent by the remote host is\n\
SHA256:LEl9NZVGViiK0IY2N7VV0WAk+biFFabwP/N7LNI3Phw.\r\n\
Please contact your system administrator.\r\n\
Add correct host key in /lab/known_hosts to get rid of this message.\r\n\
Offending ED25519 key in /lab/known_hosts:3\r\n\
  remove with:\r\n\
  ssh-keygen -f \"/lab/known_hosts\" -R \"[127.0.0.1]:2222\"\r\n\
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\n\
Host key verification failed.\r\n";

    #[test]
    fn a_changed_key_names_the_offending_entry_and_the_fix() {
        let TransportError::HostKey(message) = connect_failure(CHANGED, &spec()) else {
            panic!("not a host key error");
        };
        assert!(
            message.contains("Offending ED25519 key in /lab/known_hosts:3"),
            "{message}"
        );
        assert!(
            message.contains(r#"ssh-keygen -f "/lab/known_hosts" -R "[127.0.0.1]:2222""#),
            "{message}"
        );
        assert!(message.contains("CHANGED"), "{message}");
        assert!(
            !message.contains('\r') && !message.contains('\n'),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_key_names_the_known_hosts_file_and_both_ways_out() {
        let log = "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n";
        let TransportError::HostKey(message) = connect_failure(log, &spec()) else {
            panic!("not a host key error");
        };
        assert!(
            message.starts_with(
                "No ED25519 host key is known for [127.0.0.1]:2222 in /lab/known_hosts"
            ),
            "{message}"
        );
        assert!(
            message.contains("ssh-keyscan -p 2222 127.0.0.1 >> /lab/known_hosts"),
            "{message}"
        );
        assert!(message.contains("--ssh-accept-new"), "{message}");
    }

    #[test]
    fn an_unknown_key_without_a_known_hosts_setting_names_the_default_file() {
        let mut spec = spec();
        spec.known_hosts = None;
        let log = "No ED25519 host key is known for db1 and you have requested strict checking.\r\nHost key verification failed.\r\n";
        let message = connect_failure(log, &spec).to_string();
        assert!(message.contains("~/.ssh/known_hosts"), "{message}");
    }

    #[test]
    fn other_host_key_failures_are_still_host_key_errors() {
        let log = "Some new wording about keys.\r\nHost key verification failed.\r\n";
        assert!(matches!(
            connect_failure(log, &spec()),
            TransportError::HostKey(m) if m.contains("Some new wording about keys.")
        ));
    }

    #[test]
    fn connection_failures_are_unreachable_with_ssh_s_own_line() {
        let cases = [
            (
                "ssh: connect to host 127.0.0.1 port 2222: Connection refused\r\n",
                "connect to host 127.0.0.1 port 2222: Connection refused",
            ),
            (
                "connect to host 10.77.0.12 port 22: No route to host\r\n",
                "connect to host 10.77.0.12 port 22: No route to host",
            ),
            (
                "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\r\nroot@127.0.0.1: Permission denied (publickey).\r\n",
                "root@127.0.0.1: Permission denied (publickey).",
            ),
            (
                "ssh: Could not resolve hostname nohost.invalid: Name or service not known\r\n",
                "Could not resolve hostname nohost.invalid: Name or service not known",
            ),
            (
                "kex_exchange_identification: read: Connection reset by peer\r\nConnection reset by 127.0.0.1 port 2222\r\n",
                "Connection reset by 127.0.0.1 port 2222",
            ),
            ("something unexpected\r\nand then this\r\n", "and then this"),
            ("", "ssh exited without saying why"),
        ];
        for (log, reason) in cases {
            match connect_failure(log, &spec()) {
                TransportError::Unreachable(got) => assert_eq!(got, reason, "for {log:?}"),
                other => panic!("{log:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_lost_connection_says_why_when_the_master_logged_it() {
        assert_eq!(
            connection_lost("Timeout, server 10.77.0.12 not responding.\r\n").to_string(),
            "unreachable: connection lost: Timeout, server 10.77.0.12 not responding."
        );
        assert_eq!(
            connection_lost("Connection to 127.0.0.1 closed by remote host.\r\n").to_string(),
            "unreachable: connection lost: Connection to 127.0.0.1 closed by remote host."
        );
        assert_eq!(
            connection_lost("").to_string(),
            "unreachable: connection lost: the ssh master connection ended"
        );
    }
}

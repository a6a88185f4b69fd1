//! The small ssh client config file written for each connection.
//!
//! `openssh::SessionBuilder` has no way to pass arbitrary `-o Key=Value`
//! options, and it cannot set `ServerAliveCountMax`. So every connection gets
//! its own config file (`ssh -F FILE`) in its private directory. The file first
//! sets baton's options, then `Include`s the config that plain `ssh` would
//! have read:
//!
//! * the inventory's ssh config file (`-F FILE` in `ansible_ssh_common_args`
//!   or `baton_ssh_config_file`), which like `ssh -F` replaces the others; or
//! * `~/.ssh/config` (a missing file is skipped) and then `/etc/ssh/ssh_config`,
//!   because `-F` would otherwise make ssh skip the system file. Plain ssh
//!   finds `~` in the passwd entry, but `Include ~/...` expands it from `$HOME`,
//!   so the file writes the path it got from the passwd entry.
//!
//! ssh keeps the first value it reads for each option, so the lines written
//! before the `Include`s win over the included files, exactly as `-o` options
//! on ssh's command line would. What `SessionBuilder` itself passes on the
//! command line (user, port, key, `StrictHostKeyChecking`, `ConnectTimeout`,
//! `BatchMode`, the control socket) wins over everything in this file: an
//! inventory's `-o StrictHostKeyChecking=no` cannot weaken host key checking.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::transport::{ConnectionSpec, TransportError};

/// The system-wide config plain ssh reads after the user's.
pub const SYSTEM_CONFIG: &str = "/etc/ssh/ssh_config";

/// Keepalive probes that make the master notice a dead link within about the
/// connect timeout, instead of waiting for TCP to give up (many minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// `ServerAliveInterval`, in seconds.
    pub interval: u64,
    /// `ServerAliveCountMax`.
    pub count_max: u64,
}

impl Keepalive {
    /// ssh gives up after `count_max + 1` unanswered probes, one per interval.
    pub fn for_connect_timeout(connect_timeout: Duration) -> Keepalive {
        let budget = whole_seconds(connect_timeout);
        let interval = (budget / 3).max(1);
        let count_max = (budget / interval).saturating_sub(1).max(1);
        Keepalive {
            interval,
            count_max,
        }
    }

    /// How long a dead link can go unnoticed.
    pub fn detection_time(&self) -> Duration {
        Duration::from_secs(self.interval * (self.count_max + 1))
    }
}

/// ssh's `ConnectTimeout` takes whole seconds, and 0 would mean "no timeout".
pub fn whole_seconds(duration: Duration) -> u64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.max(1)
}

/// The text of the config file for one connection. `user_config` is the
/// per-user config plain ssh would read ([`user_config`]).
pub fn render(
    spec: &ConnectionSpec,
    keepalive: Keepalive,
    user_config: Option<&Path>,
) -> Result<String, TransportError> {
    let mut text = String::from(
        "# Written by baton for one connection; removed when the connection closes.\n\
         # Lines above the Includes win over the included files, like ssh -o options.\n",
    );
    if let Some(known_hosts) = &spec.known_hosts {
        text.push_str(&format!(
            "UserKnownHostsFile {}\n",
            quoted_path(known_hosts, "known_hosts file", true)?
        ));
    }
    for (key, value) in &spec.ssh_options {
        text.push_str(&option_line(key, value)?);
    }
    text.push_str(&format!(
        "ServerAliveInterval {}\nServerAliveCountMax {}\n",
        keepalive.interval, keepalive.count_max
    ));
    match &spec.ssh_config {
        Some(file) => {
            let file = absolute(file);
            if let Err(e) = std::fs::metadata(&file) {
                return Err(TransportError::Other(format!(
                    "ssh config file {}: {e}",
                    file.display()
                )));
            }
            text.push_str(&format!(
                "Include {}\n",
                quoted_path(&file, "ssh config file", false)?
            ));
        }
        None => {
            if let Some(user_config) = user_config {
                text.push_str(&format!(
                    "Include {}\n",
                    quoted_path(user_config, "user ssh config", false)?
                ));
            }
            text.push_str(&format!("Include {SYSTEM_CONFIG}\n"));
        }
    }
    Ok(text)
}

/// `.ssh/config` in the home directory of the passwd entry for the real uid,
/// which is where plain ssh looks, whatever `$HOME` says. `None` when the uid
/// has no passwd entry (ssh then refuses to run and says so).
pub fn user_config() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;

    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to live memory of the stated size;
        // getpwuid_r writes the strings into `buffer`, which outlives their use below.
        let status = unsafe {
            libc::getpwuid_r(
                libc::getuid(),
                &mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut found,
            )
        };
        if status == libc::ERANGE && buffer.len() < 1024 * 1024 {
            buffer.resize(buffer.len() * 4, 0);
            continue;
        }
        if status != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, so pw_dir is a NUL-terminated string in `buffer`.
        let home = unsafe { CStr::from_ptr(entry.pw_dir) };
        let home = Path::new(std::ffi::OsStr::from_bytes(home.to_bytes()));
        return Some(home.join(".ssh").join("config"));
    }
}

/// One `-o Key=Value` option as a config line; ssh parses both the same way.
fn option_line(key: &str, value: &str) -> Result<String, TransportError> {
    let key_is_word = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric());
    if !key_is_word {
        return Err(TransportError::Other(format!(
            "ssh option {key:?} is not an ssh_config keyword"
        )));
    }
    // ssh refuses these as -o options too; in a file they would scope or pull in
    // everything after them, including the Includes below.
    if ["host", "match", "include"].contains(&key.to_ascii_lowercase().as_str()) {
        return Err(TransportError::Other(format!(
            "ssh option {key} cannot be given with -o"
        )));
    }
    if value.chars().any(|c| matches!(c, '\n' | '\r' | '\0')) {
        return Err(TransportError::Other(format!(
            "the value of ssh option {key} contains a line break"
        )));
    }
    Ok(format!("{key}={value}\n"))
}

/// A path as one double-quoted ssh_config argument. ssh_config has no escape for
/// `"`; `%` starts a token in `UserKnownHostsFile`, so it is doubled there; in an
/// `Include` glob characters and expansions would change the meaning, so they are refused.
fn quoted_path(path: &Path, what: &str, tokens_expand: bool) -> Result<String, TransportError> {
    let text = path.to_str().ok_or_else(|| {
        TransportError::Other(format!("{what} path {} is not UTF-8", path.display()))
    })?;
    let forbidden: &[char] = if tokens_expand {
        &['"', '\n', '\r', '\0']
    } else {
        &['"', '\n', '\r', '\0', '%', '$', '*', '?', '[']
    };
    if let Some(c) = text.chars().find(|c| forbidden.contains(c)) {
        return Err(TransportError::Other(format!(
            "{what} path {text:?} contains {c:?}, which ssh_config cannot express"
        )));
    }
    let text = if tokens_expand {
        text.replace('%', "%%")
    } else {
        text.to_string()
    };
    Ok(format!("\"{text}\""))
}

/// Relative paths in an `Include` would be taken from `~/.ssh`, but the user
/// meant the current directory, as `ssh -F` does.
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(dir) => dir.join(path),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ConnectionKind;

    fn spec() -> ConnectionSpec {
        ConnectionSpec {
            kind: ConnectionKind::Ssh,
            ..ConnectionSpec::local("db1")
        }
    }

    const KEEPALIVE: Keepalive = Keepalive {
        interval: 3,
        count_max: 2,
    };

    #[test]
    fn keepalive_notices_a_dead_link_within_the_connect_timeout() {
        for secs in [1, 2, 3, 5, 10, 30, 120] {
            let timeout = Duration::from_secs(secs);
            let keepalive = Keepalive::for_connect_timeout(timeout);
            assert!(keepalive.interval >= 1 && keepalive.count_max >= 1);
            // One second of slack: the shortest setting ssh can express is 1 s x 2 probes.
            assert!(
                keepalive.detection_time() <= timeout.max(Duration::from_secs(2)),
                "{secs}s -> {keepalive:?}"
            );
            assert!(
                keepalive.detection_time() * 2 >= timeout,
                "{secs}s -> {keepalive:?}"
            );
        }
        assert_eq!(
            Keepalive::for_connect_timeout(Duration::from_secs(10)),
            KEEPALIVE
        );
    }

    #[test]
    fn connect_timeout_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(300)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(2100)), 3);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_secs(10)), 10);
    }

    #[test]
    fn defaults_include_the_user_config_then_the_system_config() {
        let user_config = Path::new("/home/ops/.ssh/config");
        let text = render(&spec(), KEEPALIVE, Some(user_config)).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "ServerAliveInterval 3",
                "ServerAliveCountMax 2",
                "Include \"/home/ops/.ssh/config\"",
                "Include /etc/ssh/ssh_config",
            ]
        );
        let text = render(&spec(), KEEPALIVE, None).unwrap();
        assert!(!text.contains(".ssh/config"), "{text}");
        assert!(text.contains("Include /etc/ssh/ssh_config"), "{text}");
    }

    #[test]
    fn the_user_config_comes_from_the_passwd_entry_not_home() {
        let Some(path) = user_config() else {
            return;
        };
        let out = std::process::Command::new("sh")
            .args(["-c", "getent passwd $(id -u) | cut -d: -f6"])
            .output()
            .unwrap();
        let home = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(path, Path::new(&home).join(".ssh/config"));
    }

    #[test]
    fn options_come_before_the_includes_in_the_given_order() {
        let mut spec = spec();
        spec.known_hosts = Some(PathBuf::from("/srv/lab/known hosts%1"));
        spec.ssh_options = vec![
            ("User".into(), "deploy".into()),
            ("ProxyCommand".into(), "ssh -W %h:%p bastion".into()),
            ("ServerAliveInterval".into(), "60".into()),
        ];
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "Port 2222\n").unwrap();
        spec.ssh_config = Some(config.clone());
        let text = render(&spec, KEEPALIVE, None).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "UserKnownHostsFile \"/srv/lab/known hosts%%1\"",
                "User=deploy",
                "ProxyCommand=ssh -W %h:%p bastion",
                // The inventory's own value comes first, so it wins over baton's.
                "ServerAliveInterval=60",
                "ServerAliveInterval 3",
                "ServerAliveCountMax 2",
                &format!("Include \"{}\"", config.display()),
            ]
        );
    }

    #[test]
    fn a_missing_ssh_config_file_is_an_error_not_silently_skipped() {
        let mut spec = spec();
        spec.ssh_config = Some(PathBuf::from("/nonexistent/baton/ssh_config"));
        let err = render(&spec, KEEPALIVE, None).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/baton/ssh_config"),
            "{err}"
        );
    }

    #[test]
    fn options_that_would_break_the_file_are_refused() {
        for (key, value) in [
            ("Host", "*"),
            ("match", "all"),
            ("Include", "/etc/passwd"),
            ("User", "x\nHost *"),
            ("Bad Key", "x"),
            ("", "x"),
            ("1Port", "22"),
        ] {
            let mut spec = spec();
            spec.ssh_options = vec![(key.into(), value.into())];
            assert!(
                matches!(
                    render(&spec, KEEPALIVE, None),
                    Err(TransportError::Other(_))
                ),
                "{key}={value:?} was accepted"
            );
        }
    }

    #[test]
    fn include_paths_with_glob_or_quote_characters_are_refused() {
        for name in ["conf*", "a\"b", "x%h", "${HOME}"] {
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join(name);
            std::fs::write(&config, "").unwrap();
            let mut spec = spec();
            spec.ssh_config = Some(config);
            assert!(
                render(&spec, KEEPALIVE, None).is_err(),
                "{name} was accepted"
            );
        }
    }
}

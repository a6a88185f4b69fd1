//! File descriptors at scale. Every SSH host costs baton open files for the
//! whole run: the multiplex client's socket and the three pipe ends of the
//! host's persistent worker shell, more while a task runs in a session of its
//! own. Out of descriptors (`EMFILE`), every later socket, pipe and `/proc`
//! read fails: before this check the hosts past the limit were reported
//! UNREACHABLE with "the ssh master connection ended" and their masters,
//! which baton could no longer find, were left running.
//!
//! So, as most servers do, baton raises its soft `RLIMIT_NOFILE` to the hard
//! limit when it starts ([`raise_soft_limit`]), and refuses, before it
//! connects, a batch whose hosts would need more than the limit
//! ([`check`]). Figures: `bench` measured 403 open descriptors at the peak of
//! `bench/twenty.yml` over 98 lab hosts (about 4 per host);
//! [`FDS_PER_HOST`] leaves room for a task's own sessions.

/// Open files one connected SSH host may hold at a time (its mux socket,
/// the worker's pipes, and a session of a task's own).
pub const FDS_PER_HOST: u64 = 8;
/// Open files baton holds besides its hosts' (the runtime, the terminal,
/// playbook and template files, the report's output).
pub const BASE_FDS: u64 = 64;
/// The message's word for the error `EMFILE` (errno 24), as
/// `std::io::Error` prints it.
const EMFILE_TEXT: &str = "Too many open files";

/// The soft and hard `RLIMIT_NOFILE`; `None` if the system does not say
/// (then baton does not check).
pub fn limits() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes only into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    Some((limit.rlim_cur, limit.rlim_max))
}

/// Raise the soft limit on open files to the hard limit (capped at 1 << 20,
/// which is more than any run needs), as the limit a user can raise by
/// herself; the new soft limit. Failure leaves the limit as it was.
pub fn raise_soft_limit() -> Option<u64> {
    let (soft, hard) = limits()?;
    let wanted = hard.min(1 << 20);
    if wanted <= soft {
        return Some(soft);
    }
    let limit = libc::rlimit {
        rlim_cur: wanted,
        rlim_max: hard,
    };
    // SAFETY: setrlimit(2) reads only the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        Some(wanted)
    } else {
        Some(soft)
    }
}

/// Open files baton needs with `hosts` SSH hosts connected at once.
pub fn needed(hosts: usize) -> u64 {
    BASE_FDS + FDS_PER_HOST * hosts as u64
}

/// `Err(message)` when `hosts` connected SSH hosts would need more open
/// files than the soft limit `soft` (hard limit `hard`) allows.
///
/// With no SSH host there is nothing to check: local hosts hold no open
/// file between tasks (each task's `sh` and its three pipes live while it
/// runs, at most `forks` at once), and [`BASE_FDS`] is a margin, not a
/// measured floor; a local-only run under `ulimit -n 16` works.
pub fn check_against(hosts: usize, soft: u64, hard: u64) -> Result<(), String> {
    if hosts == 0 {
        return Ok(());
    }
    let need = needed(hosts);
    if need <= soft {
        return Ok(());
    }
    let hosts = match hosts {
        1 => "1 SSH host connected needs".to_string(),
        n => format!("{n} SSH hosts connected at once need"),
    };
    Err(format!(
        "{hosts} about {need} open files in baton ({FDS_PER_HOST} per host and {BASE_FDS} more), and its limit is {soft} (`ulimit -n`; hard limit {hard})"
    ))
}

/// [`check_against`] with this process's limits (after [`raise_soft_limit`]).
pub fn check(hosts: usize) -> Result<(), String> {
    match limits() {
        Some((soft, hard)) => check_against(hosts, soft, hard),
        None => Ok(()),
    }
}

/// What to do about it, for the message's help.
pub fn help(hosts: usize) -> String {
    format!(
        "raise the limit of the shell or service that runs baton (`ulimit -Hn {n}; ulimit -n {n}` as root, or `LimitNOFILE={n}` in a systemd unit), or run on fewer hosts (-l): connections stay open until the run ends, so `serial:` does not lower the need",
        n = needed(hosts).next_power_of_two()
    )
}

/// Whether an error's text is the out-of-descriptors error.
pub fn is_emfile(text: &str) -> bool {
    text.contains(EMFILE_TEXT) || text.contains("os error 24")
}

/// The message for an `EMFILE` met while running (the check above guards
/// the usual case; this names it when something else used the files).
pub fn emfile_message(what: &str) -> String {
    let limit = limits().map_or_else(|| "unknown".to_string(), |(soft, _)| soft.to_string());
    format!(
        "{what}: baton ran out of open files (the limit is {limit}, `ulimit -n`); this says nothing about the host. Raise the limit or run on fewer hosts (-l)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_too_low_for_the_hosts_is_refused_with_the_figures() {
        assert!(check_against(100, 1024, 1024).is_ok());
        let err = check_against(200, 1024, 4096).unwrap_err();
        assert!(err.contains("200 SSH hosts"), "{err}");
        assert!(err.contains(&needed(200).to_string()), "{err}");
        assert!(err.contains("limit is 1024"), "{err}");
        assert!(err.contains("hard limit 4096"), "{err}");
        assert!(help(200).contains("ulimit -n 2048"), "{}", help(200));
    }

    #[test]
    fn a_run_without_ssh_hosts_is_never_refused_on_the_ssh_budget() {
        // Was: "0 SSH hosts connected at once need about 64 open files".
        assert!(check_against(0, 16, 16).is_ok());
        assert!(check_against(0, 0, 0).is_ok());
        // One SSH host among local ones is still counted alone.
        let err = check_against(1, 16, 16).unwrap_err();
        assert!(err.contains("1 SSH host connected needs about 72"), "{err}");
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (_, hard) = limits().unwrap();
        let soft = raise_soft_limit().unwrap();
        assert_eq!(soft, hard.min(1 << 20));
        assert_eq!(limits().unwrap().0, soft);
    }

    #[test]
    fn emfile_is_recognised_in_io_errors() {
        let e = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert!(is_emfile(&e.to_string()), "{e}");
        assert!(!is_emfile("Connection refused (os error 111)"));
    }
}

//! Ctrl-C, SIGTERM and SIGHUP during a drill: remembered, never fatal, so the
//! drill can stop its playbook run (which finishes its running task, as
//! `baton run` does on a signal), write what it measured and remove the lab.

use std::sync::atomic::{AtomicI32, Ordering};

static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(signal, Ordering::SeqCst);
}

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `remember` only stores into an atomic, which is
        // async-signal-safe; the handler stays valid for the process's life.
        unsafe {
            libc::signal(signal, remember as *const () as libc::sighandler_t);
        }
    }
}

/// The signal that asked the drill to stop, if one did.
pub fn stopped() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

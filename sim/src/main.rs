fn main() -> std::process::ExitCode {
    restore_sigpipe();
    std::process::ExitCode::from(hvr_simulator::cli::run(std::env::args_os().collect()))
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`hvrsimclient verify
/// | head -1`) would panic. Like any Unix command, end quietly instead.
fn restore_sigpipe() {
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: resetting a signal's disposition to the default touches no memory.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

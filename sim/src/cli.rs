//! Dispatch: `hvrsim` is one binary installed under many names (symlinks in `$HVR_HOME/bin`).
//! It runs the command it is called as, or, called as `hvrsim`, the command named by its first
//! argument (`hvrsim hvrcompare ...`).

use std::ffi::OsString;
use std::path::Path;

use crate::cmd::{self, CommandSpec, COMMANDS};
use crate::daemon::{signal_failure, DAEMON_FLAG};
use crate::error::{exit, SimError};
use crate::settings::version;

pub fn run(argv: Vec<OsString>) -> u8 {
    let mut args = Vec::with_capacity(argv.len());
    for arg in &argv {
        match arg.to_str() {
            Some(text) => args.push(text.to_string()),
            None => {
                eprintln!("hvrsim (HVR simulator): argument {arg:?} is not valid UTF-8");
                return exit::USAGE;
            }
        }
    }
    let invoked = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("hvrsim")
        .to_string();
    match find(&invoked).filter(|c| c.link) {
        Some(command) => run_command(command, &args[1.min(args.len())..]),
        None => run_hvrsim(args.get(1..).unwrap_or(&[])),
    }
}

fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

fn run_hvrsim(args: &[String]) -> u8 {
    let Some(first) = args.first() else {
        print!("{}", overview());
        return exit::USAGE;
    };
    match first.as_str() {
        "-h" | "--help" | "help" => {
            print!("{}", overview());
            exit::OK
        }
        "-V" | "--version" | "version" => {
            println!("hvrsim (HVR simulator) {}", version());
            exit::OK
        }
        // One name per line, for package.sh to create the symlinks.
        "commands" => {
            for command in COMMANDS.iter().filter(|c| c.link) {
                println!("{}", command.name);
            }
            exit::OK
        }
        name => match find(name) {
            Some(command) => run_command(command, &args[1..]),
            None => {
                eprintln!(
                    "hvrsim (HVR simulator): unknown command {name:?}; run 'hvrsim --help' for the list"
                );
                exit::USAGE
            }
        },
    }
}

fn run_command(command: &CommandSpec, args: &[String]) -> u8 {
    if matches!(args, [only] if only == "--help" || only == "-h") {
        print!("{}", command.usage);
        return exit::OK;
    }
    if args.first().map(String::as_str) == Some(DAEMON_FLAG) {
        return run_daemon(command, &args[1..]);
    }
    match (command.run)(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{} (HVR simulator): {error}", command.name);
            if let SimError::Usage(_) = error {
                eprintln!("run '{} --help' for usage", command.name);
            }
            error.exit_code()
        }
    }
}

/// The detached half of a start command. Its stderr is the daemon's log file.
fn run_daemon(command: &CommandSpec, args: &[String]) -> u8 {
    match cmd::run_daemon(command.name, args) {
        Ok(()) => exit::OK,
        Err(error) => {
            signal_failure(error.message());
            eprintln!("{} (HVR simulator daemon): {error}", command.name);
            error.exit_code()
        }
    }
}

fn overview() -> String {
    let mut text = format!(
        "hvrsim {} -- HVR simulator: the lab's stand-in for the proprietary HVR product.\n\
         This is NOT HVR. It behaves like HVR where baton's failover playbooks depend on it.\n\n\
         Usage: <command> [args]   (hvrsim installed as, or symlinked to, the command name)\n\
         \x20      hvrsim <command> [args]\n\
         \x20      hvrsim commands   (list command names, one per line)\n\n\
         Commands:\n",
        version()
    );
    for command in COMMANDS {
        text.push_str(&format!("  {:<18} {}\n", command.name, command.summary));
    }
    text.push_str(
        "\nEnvironment: HVR_CONFIG (required; all state lives there), HVR_HOME, HVR_TMP,\n\
         HVR_SCHEDULER_PORT, HVRSIM_* tunables (see README.SIMULATOR).\n\
         Exit codes: 0 success, 1 failure or negative answer, 2 usage or configuration error.\n",
    );
    text
}

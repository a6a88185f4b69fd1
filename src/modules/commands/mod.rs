//! Running commands: command (no shell), shell (through `sh`), raw (as is).
//! All three skip under `--check` (`ModuleSpec::skips_in_check_mode`).

pub mod command;
pub mod raw;
pub mod shell;

//! baton: an agentless, Ansible-style orchestration runner.
//!
//! Data flows one way through the stages below, each in its own module:
//! `cli` -> `load` -> `plan` -> `execute` -> `modules` -> `transport`, and
//! `execute` -> `report`. A stage imports only stages after it, never one
//! before: `load` uses `modules` only for their specs (argument checks before
//! the run), never `plan` or `execute`; `modules` know nothing of `execute`,
//! `load`, `plan` or `report`; `transport` knows nothing of any stage;
//! `report` reads `modules`' result and status types.
//!
//! Below every stage sits a base layer that imports no stage: `yaml` (the only
//! YAML parser), `error` (errors as values with spans), `source` (files and
//! spans), `controls` (control characters shown escaped on a terminal),
//! `shell` (quoting, nonces, answer markers) and `template_text` (whether a
//! string is a template). `lab` builds the local test network from
//! the base layer alone. `tests/stage_order.rs` holds the table of allowed
//! imports and fails on any import against it.

// `println!`/`eprintln!` panic when the reader has gone (`| head -1`):
// output goes through writes that handle a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod bounds;
pub mod cli;
pub mod controls;
pub mod drill;
pub mod error;
pub mod execute;
pub mod lab;
pub mod load;
pub mod modules;
pub mod plan;
pub mod pyformat;
pub mod pyregex;
pub mod report;
pub mod shell;
pub mod source;
pub mod template_text;
pub mod transport;
pub mod yaml;

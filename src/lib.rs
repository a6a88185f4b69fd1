//! baton: an agentless, Ansible-style orchestration runner.
//!
//! Data flows one way through the stages below, each in its own module:
//! `cli` -> `load` -> `plan` -> `execute` -> `modules` -> `transport` -> `report`.
//! `yaml` is the only place that parses YAML; `lab` builds the local test network.

pub mod cli;
pub mod error;
pub mod execute;
pub mod lab;
pub mod load;
pub mod modules;
pub mod plan;
pub mod report;
pub mod shell;
pub mod source;
pub mod template_text;
pub mod transport;
pub mod yaml;

//! Loading: inventory and playbooks, from YAML (and INI) into typed values that
//! keep their source origins.

pub mod ansible_cfg;
pub mod args;
pub mod expansion;
pub mod extra_vars;
pub mod fields;
pub mod inventory;
pub mod keywords;
pub mod loops;
pub mod play;
pub mod playbook;
pub mod role;
pub mod task;
pub mod task_keys;
pub mod task_parser;

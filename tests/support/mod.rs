//! Helpers shared by the integration tests. Every test binary includes them
//! one way, `mod support;`, and uses the parts it needs:
//!
//! - `accounts`: test users and groups in /etc (names useradd refuses);
//! - `cli`: a builder that runs `baton` against files in a temp dir;
//! - `lab`: a lab owned by one test (root), torn down even on panic;
//! - `hvr`: driving the HVR failover playbooks in a lab;
//! - `sshd`: a loopback sshd for transport tests;
//! - `module_suite`: every module over any connection.
#![allow(dead_code)]

pub mod accounts;
pub mod cli;
// The HTTP server the get_url and uri unit tests use, shared with the suite.
#[path = "../../src/modules/net/test_server.rs"]
pub mod http;
pub mod hvr;
pub mod lab;
pub mod module_suite;
pub mod sshd;

/// Whether a JSON event is about the task named `task`: its name as
/// written, or as Ansible prints a role's task (`role : name`).
pub fn is_task(event: &serde_json::Value, task: &str) -> bool {
    event["task"]["name"]
        .as_str()
        .is_some_and(|n| n == task || bare_task_name(event) == task)
}

/// A JSON event's task name without a role's `role : ` prefix.
pub fn bare_task_name(event: &serde_json::Value) -> &str {
    let name = event["task"]["name"].as_str().unwrap_or_default();
    name.rsplit_once(" : ").map_or(name, |(_, bare)| bare)
}

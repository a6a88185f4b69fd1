//! What the run knows about each host.

use serde_json::{Map, Value};

use crate::report::HostStats;

#[derive(Clone, Debug)]
pub struct Failure {
    pub task: String,
    pub origin: String,
    pub message: String,
    pub play: String,
}

#[derive(Default, Debug)]
pub struct HostState {
    /// Left the play because a task failed (and nothing rescued it).
    pub failed: bool,
    pub unreachable: bool,
    /// `meta: end_host`: done with this play, not failed.
    pub ended: bool,
    /// `register`, `set_fact` and `include_vars` values; they outlive the play.
    pub registered: Map<String, Value>,
    pub facts: Map<String, Value>,
    pub facts_gathered: bool,
    /// Handlers notified and not yet run, in notification order.
    pub notified: Vec<String>,
    pub stats: HostStats,
    /// Names of tasks that changed this host, for the report when a run stops.
    pub changed_tasks: Vec<String>,
    pub failure: Option<Failure>,
}

impl HostState {
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }
}

//! Connection set-up before a batch's first task: every host of the batch
//! that has no connection yet gets one, all at once up to `forks`, so the
//! first task no longer pays for the handshakes one host after another and
//! the recap can tell connection time from task time. A host whose
//! connection fails is unreachable before any task runs on it, with the
//! message an unreachable task result gives.
//!
//! The connection itself is the transport's business ([`Connections`]);
//! this file only decides which hosts to connect to and records outcomes.
//!
//! [`Connections`]: super::connections::Connections

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::join_all;
use tokio::sync::Semaphore;

use super::connections::spec_for;
use super::host_task::unreachable_message;
use super::play::{PlayScope, Runner};
use crate::error::InputError;
use crate::load::play::Play;
use crate::load::task::{Action, Task};
use crate::plan::context::Context;
use crate::report::Event;
use crate::transport::{fd_limit, ConnectionKind, ConnectionSpec};

/// Modules that run on the controller only: a play made of them (and of
/// delegated tasks) never needs its hosts' connections, so none is opened
/// for it, as before (and as in Ansible, whose `debug` does not connect).
const CONTROLLER_ONLY: &[&str] = &["debug", "assert", "fail", "pause", "set_fact"];

/// Whether `task` runs over its host's own connection.
pub(super) fn uses_the_hosts_connection(task: &Task) -> bool {
    match &task.action {
        Action::Module { module, .. } => {
            !CONTROLLER_ONLY.contains(&module.spec().name) && task.common.delegate_to.is_none()
        }
        _ => false,
    }
}

/// Whether any task of `play` may keep an unreachable host in play
/// (`ignore_unreachable`): then a failed connection is reported, but the
/// tasks decide, as in Ansible (the first such task registers the
/// unreachable result and the host goes on).
fn may_ignore_unreachable(play: &Play) -> bool {
    play.all_tasks()
        .iter()
        .chain(play.handlers.iter())
        .any(|t| t.common.ignore_unreachable == Some(true))
}

/// `address` or `address:port`, or `local`: what a connection reaches.
fn target(spec: &ConnectionSpec) -> String {
    match (spec.kind, spec.port) {
        (ConnectionKind::Local, _) => "local".to_string(),
        (ConnectionKind::Ssh, Some(port)) => format!("{}:{port}", spec.address),
        (ConnectionKind::Ssh, None) => spec.address.clone(),
    }
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Runner<'_> {
    /// How `host` is connected to: its connection variables `vars` (see
    /// [`spec_for`]), with the play's `connection:` and `remote_user:` where
    /// they say nothing, a template in those rendered with `keywords` (the
    /// variables of the host the task runs for), as Ansible templates play
    /// keywords per host.
    ///
    /// Errors: a keyword's template that does not render (at its line), or
    /// what [`spec_for`] refuses.
    pub(super) fn connection_spec(
        &self,
        play: &Play,
        host: &str,
        vars: &serde_json::Map<String, serde_json::Value>,
        keywords: &Context,
    ) -> Result<ConnectionSpec, InputError> {
        let render = |node: &Option<crate::yaml::Node>| -> Result<Option<String>, InputError> {
            let Some(node) = node else {
                return Ok(None);
            };
            let text = node.as_str().unwrap_or_default();
            if !crate::template_text::is_template(text) {
                return Ok(Some(text.to_string()));
            }
            self.templater
                .render_str(text, keywords, &node.origin)
                .map(Some)
        };
        let connection = render(&play.connection)?;
        let user = render(&play.remote_user)?;
        spec_for(
            host,
            vars,
            connection.as_deref(),
            user.as_deref(),
            self.connections.options(),
        )
    }

    /// Open the connections of the batch's active hosts that have none yet,
    /// up to `forks` at once, before the batch's first task.
    ///
    /// Each host's connection is built from its variables as a task without
    /// vars of its own sees them (play vars, the `vars_files` read so far),
    /// as the "Gathering Facts" task, when it runs next, builds it.
    ///
    /// A host whose variables cannot be computed or name no valid
    /// connection is left to its first task, which reports the error as
    /// before. Nothing happens when no selected task of the play uses the
    /// hosts' own connections, or after a stop request.
    ///
    /// Errors: the SSH hosts connected so far and these would need more open
    /// files than baton's limit (`ulimit -n`, see [`fd_limit`]); nothing is
    /// connected then, and the run stops.
    pub(super) async fn connect_batch(&mut self, scope: &PlayScope<'_>) -> Result<(), InputError> {
        let play = scope.play;
        // An earlier batch's or play's hosts are not this batch's to charge.
        self.state().take_unreached_at_connect();
        let needed = play.gather_facts
            || play
                .all_tasks()
                .iter()
                .any(|t| self.tags.selects_task(&t.common) && uses_the_hosts_connection(t));
        if !needed
            || self
                .options
                .interrupt
                .load(std::sync::atomic::Ordering::SeqCst)
                != 0
        {
            return Ok(());
        }
        let hosts: Vec<String> = self
            .state()
            .active(&scope.batch)
            .into_iter()
            .filter(|h| !self.connections.is_open(h))
            .collect();
        if hosts.is_empty() {
            return Ok(());
        }
        let shared = self.shared_for(scope);
        let mut specs = Vec::new();
        for host in &hosts {
            let Ok(vars) = self.host_vars(scope, host, None, &shared, None) else {
                continue;
            };
            if let Ok(spec) = self.connection_spec(play, host, vars.context.own(), &vars.context) {
                specs.push(spec);
            }
        }
        drop(shared);
        if specs.is_empty() {
            return Ok(());
        }
        let ssh_hosts = self.connections.open_ssh_count()
            + specs
                .iter()
                .filter(|s| s.kind == ConnectionKind::Ssh)
                .count();
        if let Err(message) = fd_limit::check(ssh_hosts) {
            return Err(InputError::plain(format!(
                "play `{}` ({}): {message}; nothing was connected",
                play.name,
                play.origin.describe()
            ))
            .with_help(fd_limit::help(ssh_hosts)));
        }
        self.reporter.event(&Event::ConnectStart {
            play: play.name.clone(),
            hosts: specs.iter().map(|s| s.host_name.clone()).collect(),
        });
        let started = Instant::now();
        let semaphore = Semaphore::new(self.options.forks.max(1));
        let connections = &self.connections;
        let reporter = self.reporter;
        let opened = join_all(specs.iter().map(|spec| {
            let semaphore = &semaphore;
            async move {
                let _permit = semaphore.acquire().await;
                let started_at = now_epoch();
                let t0 = Instant::now();
                let error = connections
                    .get(spec, reporter)
                    .await
                    .err()
                    .map(|e| unreachable_message(spec, e));
                let elapsed = t0.elapsed();
                reporter.event(&Event::HostConnected {
                    host: spec.host_name.clone(),
                    target: target(spec),
                    started_at,
                    elapsed,
                    error: error.clone(),
                });
                (spec.host_name.clone(), elapsed, error)
            }
        }))
        .await;
        let keep_unreachable = may_ignore_unreachable(play);
        let mut timings: Vec<(String, Duration, bool)> = Vec::new();
        for (host, elapsed, error) in opened {
            if let Some(message) = &error {
                // Try afresh at the next use, as a task's failed connection does.
                self.connections.forget(&host);
                if !keep_unreachable {
                    self.state().connect_failed(
                        &host,
                        &play.name,
                        &play.origin.describe(),
                        message,
                    );
                }
            }
            timings.push((host, elapsed, error.is_some()));
        }
        self.state().add_connect_timing(started.elapsed(), &timings);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_address_and_port() {
        let mut spec = ConnectionSpec::local("bc1");
        assert_eq!(target(&spec), "local");
        spec.kind = ConnectionKind::Ssh;
        spec.address = "10.83.0.11".into();
        assert_eq!(target(&spec), "10.83.0.11");
        spec.port = Some(2222);
        assert_eq!(target(&spec), "10.83.0.11:2222");
    }
}

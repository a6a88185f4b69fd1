//! Handlers (notified by changed tasks, flushed after each section and by
//! `meta: flush_handlers`) and the other `meta:` actions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::play::{Enclosing, Flow, PlayScope, Runner};
use crate::error::InputError;
use crate::load::play::Play;
use crate::load::task::{MetaAction, Task};
use crate::report::controls::shown_name;
use crate::report::{Event, TaskInfo};

impl Runner<'_> {
    /// Run every notified handler on the hosts that were notified, in one
    /// pass in the play's handler order. With `force_handlers`, failed hosts
    /// run them too. `enclosing`: the blocks around a `meta: flush_handlers`
    /// (a block's `rescue` rescues a failed handler as it rescues a task).
    ///
    /// A handler may notify another: one later in the order runs in this
    /// pass; one the pass has already passed, the running handler itself
    /// included, waits for the next flush, and is dropped if none comes.
    /// This is ansible-core 2.19's rule (`PlayIterator` walks the handlers
    /// once per flush with `cur_handlers_task`; `strategy/__init__.py`
    /// marks a handler notified by a handler without rewinding), measured
    /// with ansible-core 2.19.14: a handler that notifies itself runs once
    /// per flush (twice after `tasks:`, as `post_tasks` flushes again), and
    /// `h1 -> h2 -> h1` runs h1, h2, h1, h2. A cycle never loops within one
    /// flush (it ran 17,883 times a minute when the pass repeated until no
    /// handler was pending).
    pub(super) fn flush_handlers<'s>(
        &'s self,
        scope: &'s PlayScope<'s>,
        hosts: &'s [String],
        enclosing: Enclosing,
    ) -> BoxFuture<'s, Flow> {
        async move {
            // Each host's notifications resolved to handler indices: a name or
            // `listen` topic notifies every handler that answers to it (two
            // handlers listening to one topic both run, in definition order),
            // and a handler notified several ways runs once, as in Ansible.
            let mut pending: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
            let mut flow = Flow::Continue;
            for (index, handler) in scope.play.handlers.iter().enumerate() {
                self.resolve_notifications(scope, hosts, &mut pending);
                let notified: Vec<String> = hosts
                    .iter()
                    .filter(|h| {
                        let guard = self.state();
                        let Some(s) = guard.get(h) else {
                            return false;
                        };
                        let eligible = s.active()
                            || (scope.play.force_handlers && s.failed() && !s.unreachable());
                        eligible && pending.get(*h).is_some_and(|p| p.contains(&index))
                    })
                    .cloned()
                    .collect();
                if notified.is_empty() {
                    continue;
                }
                for h in &notified {
                    if let Some(p) = pending.get_mut(h) {
                        p.remove(&index);
                    }
                }
                flow = self
                    .run_task(scope, handler, &notified, enclosing, true)
                    .await;
                if flow != Flow::Continue {
                    break;
                }
            }
            // Notifications made by the last handler.
            self.resolve_notifications(scope, hosts, &mut pending);
            // Handlers still pending (their host could not run them, or a
            // handler notified them after the pass passed them) stay
            // notified, by name, for a later flush.
            for (host, indices) in pending {
                let mut guard = self.state();
                let state = guard.host(&host);
                for index in indices {
                    let name = scope.play.handlers[index].display_name();
                    if !state.notified.contains(&name) {
                        state.notified.push(name);
                    }
                }
            }
            flow
        }
        .boxed()
    }

    /// Move the hosts' notifications (names and `listen` topics) into
    /// `pending` as the indices of every handler they notify.
    fn resolve_notifications(
        &self,
        scope: &PlayScope<'_>,
        hosts: &[String],
        pending: &mut BTreeMap<String, BTreeSet<usize>>,
    ) {
        for host in hosts {
            let mut guard = self.state();
            let state = guard.host(host);
            if state.notified.is_empty() {
                continue;
            }
            let names = std::mem::take(&mut state.notified);
            let entry = pending.entry(host.clone()).or_default();
            for name in &names {
                entry.extend(notified_by(&scope.play.handlers, name));
            }
        }
    }

    /// `meta:` on the active hosts (its `when` decides per host).
    pub(super) async fn run_meta(
        &self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        meta: MetaAction,
        active: &[String],
        info: &TaskInfo,
        enclosing: Enclosing,
    ) -> Flow {
        let applies = self.meta_applies(scope, task, active);
        match meta {
            MetaAction::FlushHandlers => self.flush_handlers(scope, active, enclosing).await,
            MetaAction::Noop => Flow::Continue,
            MetaAction::EndHost => {
                for h in &applies {
                    self.state().set_ended(h, true);
                }
                if !applies.is_empty() {
                    self.reporter.event(&Event::Warning {
                        host: None,
                        message: format!(
                            "{}: meta end_host ended the play for {}",
                            info.origin,
                            applies.join(", ")
                        ),
                    });
                }
                Flow::Continue
            }
            MetaAction::EndPlay => {
                if applies.is_empty() {
                    return Flow::Continue;
                }
                // Under `free` the other lanes stop before their next task.
                scope
                    .play_ended
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                self.reporter.event(&Event::Warning {
                    host: None,
                    message: format!(
                        "{}: meta end_play ended play `{}`",
                        info.origin,
                        shown_name(&scope.play.name)
                    ),
                });
                Flow::EndPlay
            }
            MetaAction::ClearHostErrors => {
                for h in &scope.batch {
                    self.state().clear_host_errors(h);
                }
                Flow::Continue
            }
        }
    }

    /// The hosts whose `when` holds for a `meta:` task.
    fn meta_applies(&self, scope: &PlayScope<'_>, task: &Task, active: &[String]) -> Vec<String> {
        let shared = self.shared_for(scope);
        let mut applies = Vec::new();
        for host in active {
            let vars = match self.host_vars(scope, host, Some(task), &shared, None) {
                Ok(v) => v.context,
                Err(e) => {
                    self.state().input_errors.push(e);
                    continue;
                }
            };
            let mut yes = true;
            for cond in &task.common.when {
                match self.templater.condition_node(cond, &vars) {
                    Ok(b) => yes &= b,
                    Err(e) => {
                        self.state().input_errors.push(e);
                        yes = false;
                    }
                }
            }
            if yes {
                applies.push(host.clone());
            }
        }
        applies
    }
}

/// The handlers a notification runs, as ansible-core 2.19 finds them
/// (`strategy/__init__.py` `search_handlers_by_notification`): by name
/// (bare or `role : name`) the last handler defined with it, since the last
/// loaded wins; by `listen` topic every handler listening, once per name.
fn notified_by(handlers: &[Arc<Task>], notification: &str) -> Vec<usize> {
    let mut out = Vec::new();
    if let Some(index) = handlers.iter().rposition(|h| h.answers_to(notification)) {
        out.push(index);
    }
    let mut seen: Vec<String> = Vec::new();
    for (index, h) in handlers.iter().enumerate().rev() {
        if h.listen.iter().any(|l| l == notification) {
            if let Some(name) = h.bare_name() {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
            }
            out.push(index);
        }
    }
    out
}

/// Every notify must name a handler (by name or `listen`); checked before the play runs.
pub fn check_notify_targets(play: &Play) -> Result<(), InputError> {
    let mut known: Vec<String> = Vec::new();
    for h in &play.handlers {
        known.extend(h.bare_name());
        known.push(h.display_name());
        known.extend(h.listen.iter().cloned());
    }
    for task in play.all_tasks().iter().chain(play.handlers.iter()) {
        for n in &task.notify {
            if !known.contains(n) {
                let hint = crate::error::did_you_mean(n, known.iter().map(String::as_str))
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                let at = task.name.as_ref().map_or(&task.origin, |n| &n.origin);
                return Err(InputError::at(
                    at,
                    format!(
                        "task notifies `{n}`, but play `{}` has no handler by that name",
                        play.name
                    ),
                    "in this task",
                )
                .with_help(format!(
                    "{hint}handlers: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
    }
    Ok(())
}

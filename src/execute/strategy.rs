//! Strategies: how a batch's hosts walk the play's sections (Ansible's
//! `lib/ansible/plugins/strategy/linear.py` and `free.py`).
//!
//! Both walk the same sections with the same task code (`blocks.rs`,
//! `task.rs`, `handlers.rs`); they differ only in the hosts each walk
//! carries. `linear` walks once with the whole batch: a task finishes on
//! every host before the next starts. `free` walks once per host, all walks
//! at once (a lane per host, sharing `forks`): a fast host runs ahead, its
//! handlers flush when it reaches a flush point (`meta: flush_handlers`, the
//! end of a section), and its failure stops only its own lane.

use std::sync::atomic::Ordering;

use futures::future::join_all;

use super::play::{Enclosing, Flow, PlayScope, Runner};

impl Runner<'_> {
    /// The batch's sections under the play's strategy.
    pub(super) async fn run_strategy(&self, scope: &PlayScope<'_>) -> Flow {
        if !scope.free {
            return self.run_sections(scope, &scope.batch).await;
        }
        let lanes = self
            .state()
            .active(&scope.batch)
            .into_iter()
            .map(|host| async move { self.run_sections(scope, &[host]).await });
        let flows = join_all(lanes).await;
        // `--start-at-task` was met by the hosts that reached it; later
        // plays run from their start, as under `linear`.
        if !self.start_reached_is_empty() {
            self.forget_start_at();
        }
        if scope.play_ended.load(Ordering::SeqCst) {
            // Lanes that finished before `end_play` ran everything.
            return if flows.contains(&Flow::Abort) {
                Flow::Abort
            } else {
                Flow::EndPlay
            };
        }
        [Flow::Abort, Flow::EndPlay]
            .into_iter()
            .find(|f| flows.contains(f))
            .unwrap_or(Flow::Continue)
    }

    /// `pre_tasks`, `tasks`, `post_tasks` on `hosts`, each section followed
    /// by its handlers (with `force_handlers`, also after `end_play` and a
    /// fatal failure).
    async fn run_sections(&self, scope: &PlayScope<'_>, hosts: &[String]) -> Flow {
        let play = scope.play;
        let mut flow = Flow::Continue;
        for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            if flow != Flow::Continue {
                break;
            }
            flow = self
                .run_items(scope, section, hosts, Enclosing::default())
                .await;
            // With `force_handlers` the notified handlers run after
            // `end_play` and after a fatal failure (`any_errors_fatal`,
            // `run_once`) too, as in ansible-core 2.19; not after a stop
            // request (Ctrl-C), which means stop now, nor when
            // `max_fail_percentage` stopped the play.
            let fatal = self.state().fatal_stop;
            let forced =
                play.force_handlers && (flow == Flow::EndPlay || (flow == Flow::Abort && fatal));
            if flow == Flow::Continue || forced {
                let f = self
                    .flush_handlers(scope, hosts, Enclosing::default())
                    .await;
                if flow == Flow::Continue {
                    flow = f;
                }
            }
        }
        flow
    }
}

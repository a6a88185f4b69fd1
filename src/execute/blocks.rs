//! A list of tasks and blocks: `block` / `rescue` / `always`.

use futures::future::BoxFuture;
use futures::FutureExt;

use super::play::{Enclosing, Flow, PlayScope, Runner};
use crate::load::task::{Block, Item};

impl Runner<'_> {
    /// Run items in order on `hosts`, inside the blocks `enclosing` tells.
    pub(super) fn run_items<'s>(
        &'s self,
        scope: &'s PlayScope<'s>,
        items: &'s [Item],
        hosts: &'s [String],
        enclosing: Enclosing,
    ) -> BoxFuture<'s, Flow> {
        async move {
            for item in items {
                let flow = match item {
                    Item::Task(task) => self.run_task(scope, task, hosts, enclosing, false).await,
                    Item::Block(block) => {
                        let entered = self.state().active(hosts);
                        if entered.is_empty() {
                            continue;
                        }
                        match block.include_loop {
                            Some(id) => {
                                self.run_include_loop(scope, block, id, &entered, enclosing)
                                    .await
                            }
                            None => self.run_block(scope, block, &entered, enclosing).await,
                        }
                    }
                };
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        }
        .boxed()
    }

    /// The tasks of a looped `include_tasks`: pass `n` runs them on the hosts
    /// whose include ran for an `n`th item, each host with that item's loop
    /// variables, as Ansible runs one included file per item (hosts whose
    /// items are equal share a pass; Ansible also groups hosts that way).
    async fn run_include_loop(
        &self,
        scope: &PlayScope<'_>,
        block: &Block,
        id: u64,
        entered: &[String],
        enclosing: Enclosing,
    ) -> Flow {
        let passes = entered
            .iter()
            .filter_map(|h| {
                let guard = self.state();
                guard.get(h)?.include_items.get(&id).map(Vec::len)
            })
            .max()
            .unwrap_or(0);
        for pass in 0..passes {
            let mut on = Vec::new();
            let mut saved = Vec::new();
            let active = self.state().active(entered);
            for h in active {
                let mut guard = self.state();
                let state = guard.host(&h);
                let Some(vars) = state
                    .include_items
                    .get(&id)
                    .and_then(|v| v.get(pass))
                    .cloned()
                else {
                    continue;
                };
                saved.push((h.clone(), state.include_scope.clone()));
                state.include_scope.extend(vars);
                on.push(h);
            }
            let flow = if on.is_empty() {
                Flow::Continue
            } else {
                self.run_items(scope, &block.block, &on, enclosing).await
            };
            for (h, scope_before) in saved {
                self.state().host(&h).include_scope = scope_before;
            }
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// A block on the hosts that entered it: hosts that fail in `block` run
    /// `rescue` (and count as rescued, whatever the rescue does); `always` runs for
    /// every host that entered, failed or not.
    async fn run_block(
        &self,
        scope: &PlayScope<'_>,
        block: &Block,
        entered: &[String],
        enclosing: Enclosing,
    ) -> Flow {
        let always = enclosing.always || !block.always.is_empty();
        let inside = Enclosing {
            rescue: enclosing.rescue || !block.rescue.is_empty(),
            always,
        };
        let mut flow = self.run_items(scope, &block.block, entered, inside).await;
        // Hosts a run_once failure put out of this block (`fail_out`):
        // ansible-core 2.19 marks them failed twice, so this block's first
        // handling (its rescue, or else its always) is skipped for them;
        // an enclosing block then handles them as failed by another host.
        let put_out: Vec<String> = entered
            .iter()
            .filter(|h| {
                self.state()
                    .get(h)
                    .is_some_and(|s| s.failed() && s.failed_out)
            })
            .cloned()
            .collect();
        let failed_here: Vec<String> = entered
            .iter()
            .filter(|h| {
                self.state()
                    .get(h)
                    .is_some_and(|s| s.failed() && !s.unreachable() && !s.failed_out)
            })
            .cloned()
            .collect();
        if flow != Flow::Abort && !block.rescue.is_empty() && !failed_here.is_empty() {
            // As Ansible: `rescued` counts when the rescue starts, so a
            // rescue that fails itself shows rescued=1 and failed=1.
            for h in &failed_here {
                let mut guard = self.state();
                guard.set_failed(h, false);
                let state = guard.host(h);
                if !std::mem::take(&mut state.failed_by_others) {
                    state.stats.rescued += 1;
                }
            }
            let rescue_flow = self
                .run_items(
                    scope,
                    &block.rescue,
                    &failed_here,
                    Enclosing {
                        always,
                        ..enclosing
                    },
                )
                .await;
            for h in &failed_here {
                let mut guard = self.state();
                let state = guard.host(h);
                if !state.failed() {
                    state.failure = None;
                }
            }
            if rescue_flow != Flow::Continue {
                flow = rescue_flow;
            }
        }
        if flow != Flow::Abort && !block.always.is_empty() {
            let still_failed: Vec<String> = entered
                .iter()
                .filter(|h| self.state().get(h).is_some_and(|s| s.failed()))
                .filter(|h| !block.rescue.is_empty() || !put_out.contains(h))
                .cloned()
                .collect();
            let mut refail_before = Vec::new();
            for h in &still_failed {
                let mut guard = self.state();
                guard.set_failed(h, false);
                let state = guard.host(h);
                refail_before.push(std::mem::replace(&mut state.refail_after_always, true));
            }
            let always_hosts = self.state().active(entered);
            let always_flow = self
                .run_items(scope, &block.always, &always_hosts, enclosing)
                .await;
            for (h, before) in still_failed.iter().zip(refail_before) {
                let mut guard = self.state();
                // `meta: clear_host_errors` in the always cleared it (and
                // the always of every block around it).
                let cleared = !guard.host(h).refail_after_always;
                guard.host(h).refail_after_always = before && !cleared;
                if !cleared {
                    guard.set_failed(h, true);
                }
            }
            if always_flow != Flow::Continue {
                flow = always_flow;
            }
        }
        for h in &put_out {
            let mut guard = self.state();
            let state = guard.host(h);
            state.failed_out = false;
            state.failed_by_others = state.failed();
        }
        flow
    }
}

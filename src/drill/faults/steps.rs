//! Following a refusal's manual steps as an operator would: the step the
//! message names, then the operation again, until it completes. Pure: the
//! runs go through an [`Operator`], so the chain's rules are unit-tested.

use super::case::exit_text;
use super::verdict;

/// How many manual steps in a row are followed before the refusals are
/// called a dead end: an operator follows one message, then the next.
pub const MAX_STEPS: usize = 3;

/// What the chain runs.
pub trait Operator {
    /// `baton run NAME -e VAR...`: its error (the runner's, with its failure
    /// messages), `None` when it exited 0.
    fn step(&mut self, name: &str, vars: &[String]) -> Option<String>;
    /// The operation once more: its exit code and error.
    fn again(&mut self) -> (Option<i32>, Option<String>);
}

/// What came of following the steps.
#[derive(Debug, PartialEq, Eq)]
pub struct Chain {
    /// The steps followed and the end, e.g. "`baton run start -e node=bc1`,
    /// then switchover again: completed".
    pub followed: String,
    /// Why the operator is stuck, when they are (an invariant violation).
    pub violation: Option<String>,
    /// A step the harness cannot run itself (`baton lab ...`): named, not
    /// judged.
    pub not_followed: Option<String>,
}

/// Follows the steps from a refusal (`refusal`: the runner's error of the
/// re-run that exited `exit`). A step that is `baton run check` is run, and
/// the first step its problem list names is followed; check exiting 0
/// (nothing to do) is followed by the operation again. A step that fails, a
/// check that names no step, a refusal that names none, or no completion
/// after [`MAX_STEPS`] steps is a violation.
pub fn follow(refusal: &str, exit: Option<i32>, op: &str, run: &mut dyn Operator) -> Chain {
    let mut refusal = refusal.to_string();
    let mut exit = exit;
    let mut followed: Vec<String> = Vec::new();
    let stuck = |followed: &[String], end: String, why: String| Chain {
        followed: format!("{}{end}", followed.join(", ")),
        violation: Some(why),
        not_followed: None,
    };
    for _ in 0..MAX_STEPS {
        let said = verdict::failure_messages(&refusal).to_string();
        let Some(step) = verdict::manual_step(&said) else {
            return stuck(
                &followed,
                format!(", then {op}: exit {}", exit_text(exit)),
                format!(
                    "after {}, {op} refused naming no manual step: {said}",
                    followed.join(", ")
                ),
            );
        };
        let action = if verdict::shows_only(&step) {
            followed.push(format!("`{step}`"));
            match run.step("check", &[]) {
                None => None,
                Some(e) => {
                    let problems = verdict::failure_messages(&e);
                    match verdict::manual_step(problems).filter(|s| !verdict::shows_only(s)) {
                        Some(s) => Some(s),
                        None => {
                            return stuck(
                                &followed,
                                ": no step".into(),
                                format!("the refusal named only `{step}`, and check named no step: {problems}"),
                            )
                        }
                    }
                }
            }
        } else {
            Some(step)
        };
        if let Some(step) = action {
            let Some((name, vars)) = verdict::runnable_step(&step) else {
                let end = format!("`{step}` (not followed)");
                followed.push(end);
                return Chain {
                    followed: followed.join(", then "),
                    violation: None,
                    not_followed: Some(step),
                };
            };
            followed.push(format!("`{step}`"));
            if let Some(e) = run.step(&name, &vars) {
                return stuck(
                    &followed,
                    " failed".into(),
                    format!(
                        "the manual step `{step}` failed: {}",
                        verdict::failure_messages(&e)
                    ),
                );
            }
        }
        let (again, err) = run.again();
        exit = again;
        if again == Some(0) {
            return Chain {
                followed: format!("{}, then {op} again: completed", followed.join(", ")),
                violation: None,
                not_followed: None,
            };
        }
        refusal = err.unwrap_or_default();
    }
    let said = verdict::failure_messages(&refusal).to_string();
    stuck(
        &followed,
        format!(", then {op} again: exit {}", exit_text(exit)),
        format!(
            "after the manual steps {}, {op} still did not complete (exit {}): {said}",
            followed.join(", "),
            exit_text(exit)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scripted answers, and what was run.
    #[derive(Default)]
    struct Script {
        steps: Vec<Option<String>>,
        agains: Vec<(Option<i32>, Option<String>)>,
        ran: Vec<String>,
    }

    impl Operator for Script {
        fn step(&mut self, name: &str, vars: &[String]) -> Option<String> {
            self.ran
                .push(format!("{name} {}", vars.join(" ")).trim().to_string());
            self.steps.remove(0)
        }
        fn again(&mut self) -> (Option<i32>, Option<String>) {
            self.ran.push("again".into());
            self.agains.remove(0)
        }
    }

    fn err(msgs: &str) -> String {
        format!("`baton run playbooks/x.yml -e from=bc1` exited 2: {msgs}")
    }

    #[test]
    fn a_named_step_is_followed_then_the_operation_completes() {
        let mut s = Script {
            steps: vec![None],
            agains: vec![(Some(0), None)],
            ..Default::default()
        };
        let c = follow(
            &err("refused: start it with `baton run start -e node=bc1`, then again"),
            Some(2),
            "switchover",
            &mut s,
        );
        assert_eq!(s.ran, ["start node=bc1", "again"]);
        assert_eq!(c.violation, None);
        assert_eq!(
            c.followed,
            "`baton run start -e node=bc1`, then switchover again: completed"
        );
    }

    #[test]
    fn check_is_run_and_its_own_step_followed() {
        let mut s = Script {
            steps: vec![
                Some(err("Check | problems on bc1: - no node is active: baton run start -e node=bc2; if a switchover")),
                None,
            ],
            agains: vec![(Some(0), None)],
            ..Default::default()
        };
        let c = follow(
            &err("refused. Run `baton run check`. Nothing"),
            Some(2),
            "switchover",
            &mut s,
        );
        assert_eq!(s.ran, ["check", "start node=bc2", "again"]);
        assert_eq!(c.violation, None, "{c:?}");
        // check exiting 0 says nothing is to be done: the operation again.
        let mut s = Script {
            steps: vec![None],
            agains: vec![(Some(0), None)],
            ..Default::default()
        };
        assert_eq!(
            follow(&err("Run `baton run check`"), Some(2), "recover", &mut s).violation,
            None
        );
        assert_eq!(s.ran, ["check", "again"]);
    }

    #[test]
    fn a_dead_end_is_a_violation() {
        // check names no step.
        let mut s = Script {
            steps: vec![Some(err("Check | problems: something odd"))],
            ..Default::default()
        };
        let c = follow(&err("Run `baton run check`"), Some(2), "switchover", &mut s);
        assert!(c
            .violation
            .unwrap()
            .contains("check named no step: Check | problems: something odd"));
        // The step fails.
        let mut s = Script {
            steps: vec![Some(err("start refused: the VIP answers"))],
            ..Default::default()
        };
        let c = follow(
            &err("run baton run start -e node=bc1"),
            Some(2),
            "switchover",
            &mut s,
        );
        assert!(c
            .violation
            .unwrap()
            .contains("`baton run start -e node=bc1` failed: start refused"));
        // The same refusal every time: three steps, then stuck.
        let same = err("refused: run baton run unlock -e node=bc1 -e lock_pid=9");
        let mut s = Script {
            steps: vec![None; 3],
            agains: vec![(Some(2), Some(same.clone())); 3],
            ..Default::default()
        };
        let c = follow(&same, Some(2), "recover", &mut s);
        assert_eq!(s.ran.len(), 2 * MAX_STEPS);
        assert!(c.violation.unwrap().starts_with("after the manual steps"));
        assert!(
            c.followed.ends_with("then recover again: exit 2"),
            "{}",
            c.followed
        );
        // The operation again refuses naming nothing.
        let mut s = Script {
            steps: vec![None],
            agains: vec![(Some(3), Some(err("bc1: unreachable")))],
            ..Default::default()
        };
        let c = follow(
            &err("run baton run start -e node=bc1"),
            Some(2),
            "switchover",
            &mut s,
        );
        assert!(c
            .violation
            .unwrap()
            .contains("refused naming no manual step: bc1: unreachable"));
    }

    #[test]
    fn a_step_the_harness_cannot_run_is_named_not_judged() {
        let mut s = Script::default();
        let c = follow(
            &err("boot it: baton lab boot bc1"),
            Some(2),
            "failover",
            &mut s,
        );
        assert!(s.ran.is_empty());
        assert_eq!(c.violation, None);
        assert_eq!(c.not_followed.as_deref(), Some("baton lab boot bc1"));
    }
}

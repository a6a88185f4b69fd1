//! Chaining steps: run a step to its result, then go on with another step
//! built from that result (e.g. `sysctl`'s reload after its file edit,
//! `authorized_key`'s chown after the write). The chained step keeps the
//! first step's waits and locks ([`Step::Exclusive`]).

use crate::modules::{Step, TaskResult};

/// What runs once the first step has its result.
pub(crate) type Then = Box<dyn FnOnce(TaskResult) -> Step + Send>;

/// `step`, then `then` with its result; a failed result ends the chain.
pub(crate) fn and_then(step: Step, then: Then) -> Step {
    match step {
        Step::Done(r) if r.is_failed() => Step::Done(r),
        Step::Done(r) => then(r),
        Step::Remote { script, interpret } => Step::Remote {
            script,
            interpret: Box::new(move |out| and_then(interpret(out), then)),
        },
        Step::Wait(d, next) => Step::Wait(d, Box::new(and_then(*next, then))),
        Step::Exclusive(key, next) => Step::Exclusive(key, Box::new(and_then(*next, then))),
        Step::Sleep(d, r) => Step::Wait(d, Box::new(and_then(Step::Done(r), then))),
        // A cut task ends the chain with the cut's result.
        Step::UnlessStopped { next, stopped } => Step::UnlessStopped {
            next: Box::new(and_then(*next, then)),
            stopped,
        },
        // `back` is called until the host is back; only the step it returns
        // then goes on to `then`.
        Step::Reconnect(rc) => {
            let mut rc = *rc;
            let mut back = rc.back;
            let mut then = Some(then);
            rc.back = Box::new(move |out, since| {
                let step = back(out, since)?;
                Ok(match then.take() {
                    Some(then) => and_then(step, then),
                    None => step,
                })
            });
            Step::Reconnect(Box::new(rc))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::finish;

    #[test]
    fn the_second_step_sees_the_first_result_and_failures_stop() {
        let first = Step::Remote {
            script: "echo hi\n".into(),
            interpret: Box::new(|out| Step::Done(TaskResult::ok().with_msg(out.stdout.trim()))),
        };
        let (r, trips) = finish(and_then(
            first,
            Box::new(|r| {
                Step::Done(TaskResult::changed().with_msg(format!("after {}", r.msg.unwrap())))
            }),
        ));
        assert_eq!((r.msg.as_deref(), trips), (Some("after hi"), 1));
        let (r, _) = finish(and_then(
            Step::Done(TaskResult::failed("no")),
            Box::new(|_| panic!("must not run after a failure")),
        ));
        assert!(r.is_failed());
    }
}

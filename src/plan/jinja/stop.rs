//! A stop request (Ctrl-C, SIGTERM, SIGHUP) cuts a render in progress.
//!
//! minijinja has no hook to cancel a render, and its step budget (fuel)
//! bounds a runaway loop only after seconds of work. So a render checks a
//! process-wide stop counter at checkpoints it passes often: each item
//! `range()` yields (the loops that run away are loops over ranges), each
//! Python operator ([`super::ops`]) and each `{{ }}` printed
//! ([`super::python_repr::formatter`]). Once a stop was requested after the
//! render began, `range()` yields no more items and operators fail, and the
//! render ends with [`cut_short`] instead of its (truncated) result. A
//! render that starts after the request runs normally: the stop report and
//! handlers still render.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use minijinja::{Error, ErrorKind, Value};

/// How many stop requests there have been.
static STOPS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The stop count when the outermost render on this thread began.
    static BEGAN_AT: Cell<Option<u64>> = const { Cell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// A stop request seen by this thread only: unit tests run in parallel
    /// threads of one process, and a real request would cut their renders.
    static TEST_STOP: Cell<u64> = const { Cell::new(0) };
}

fn stops() -> u64 {
    let n = STOPS.load(Ordering::SeqCst);
    #[cfg(test)]
    let n = n + TEST_STOP.with(Cell::get);
    n
}

/// A stop request seen by this thread only, for unit tests elsewhere.
#[cfg(test)]
pub fn request_stop_on_this_thread() {
    TEST_STOP.with(|n| n.set(n.get() + 1));
}

/// Ask every render in progress to end at its next checkpoint.
pub fn request_stop() {
    STOPS.fetch_add(1, Ordering::SeqCst);
}

/// Marks one render (nested renders share the outermost one's mark).
pub struct RenderWatch {
    outer: bool,
}

impl RenderWatch {
    pub fn start() -> RenderWatch {
        BEGAN_AT.with(|b| {
            if b.get().is_some() {
                RenderWatch { outer: false }
            } else {
                b.set(Some(stops()));
                // the budget of collections built is one render's
                super::grow::reset();
                RenderWatch { outer: true }
            }
        })
    }
}

impl Drop for RenderWatch {
    fn drop(&mut self) {
        if self.outer {
            BEGAN_AT.with(|b| b.set(None));
        }
    }
}

/// Whether a render is in progress on this thread.
pub fn rendering() -> bool {
    BEGAN_AT.with(|b| b.get().is_some())
}

/// Whether a stop was requested after the render on this thread began.
pub fn stop_seen() -> bool {
    BEGAN_AT.with(|b| b.get().is_some_and(|at| stops() > at))
}

/// The error of a render cut short by a stop request.
pub fn cut_short() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        "render cut short: the run is stopping (a stop request came while it rendered)",
    )
}

/// A checkpoint: an error once a stop was requested during this render.
pub fn checkpoint() -> Result<(), Error> {
    if stop_seen() {
        Err(cut_short())
    } else {
        Ok(())
    }
}

/// `range(stop)`, `range(start, stop[, step])`: minijinja's (its checks and
/// errors), yielding nothing more once a stop was requested.
pub fn range(lower: isize, upper: Option<isize>, step: Option<isize>) -> Result<Value, Error> {
    checkpoint()?;
    // minijinja counts a downward range in isize arithmetic, which overflows
    // (a panic in debug builds) for `range(-1, MIN, -1)` or a step of MIN:
    // count it here in i128 and refuse a long one with minijinja's error.
    if let Some(step @ ..0) = step {
        let (start, end) = upper.map_or((0, lower), |upper| (lower, upper));
        let (start, end, step) = (start as i128, end as i128, step as i128);
        let len = if start <= end {
            0
        } else {
            (start - end - step - 1) / -step
        };
        if len > 100_000 {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "range has too many elements",
            ));
        }
        let (start, step) = (start as isize, step as isize);
        let len = len as usize;
        return Ok(Value::make_iterable(move || {
            (0..len).map_while(move |k| (!stop_seen()).then(|| start + k as isize * step))
        }));
    }
    let checked = minijinja::functions::range(lower, upper, step)?;
    let len = checked.len().unwrap_or(0);
    let (start, step) = match upper {
        Some(_) => (lower, step.unwrap_or(1)),
        None => (0, 1),
    };
    Ok(Value::make_iterable(move || {
        (0..len).map_while(move |k| (!stop_seen()).then(|| start + k as isize * step))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_during_a_render_cuts_it_and_later_renders_run() {
        let env = super::super::env::environment();
        let eval = |e: &str| env.compile_expression(e).unwrap().eval(());
        // as minijinja's
        let list = |e: &str| eval(e).unwrap().try_iter().unwrap().collect::<Vec<_>>();
        assert_eq!(list("range(3)"), vec![0.into(), 1.into(), 2.into()]);
        assert_eq!(list("range(5, 0, -2)"), vec![5.into(), 3.into(), 1.into()]);
        assert_eq!(list("range(2, 4)"), vec![2.into(), 3.into()]);
        assert!(eval("range(1, 2, 0)").is_err());
        {
            let _watch = RenderWatch::start();
            let r = eval("range(100000)").unwrap();
            let mut it = r.try_iter().unwrap();
            assert!(it.next().is_some());
            TEST_STOP.with(|n| n.set(n.get() + 1));
            // the loop ends at once, and checkpoints fail
            assert!(it.next().is_none());
            assert!(checkpoint().is_err());
            // a nested render shares the outer one's mark
            let _inner = RenderWatch::start();
            assert!(stop_seen());
        }
        // a render that begins after the request runs normally
        let _watch = RenderWatch::start();
        assert!(checkpoint().is_ok());
        assert_eq!(list("range(2)").len(), 2);
    }
}

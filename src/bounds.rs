//! Bounds on the numbers that enter baton as durations and counts: `pause`,
//! `until` `retries`/`delay`, `loop_control.pause`, `timeout`, `-f`,
//! `wait_for` timeouts. One parser, so every field refuses NaN, infinity,
//! negative, fractional and huge values the same way and with the same words,
//! before they reach `Duration` (which panics on them) or tokio (whose
//! semaphore panics above `usize::MAX >> 3` permits).
//!
//! Errors are plain sentences (`what` names the field); callers attach the
//! file and line (load) or the argument (modules).

use std::time::Duration;

use serde_json::Value;

/// The longest duration baton accepts, in seconds: 30 days. Longer waits in
/// an unattended run are a typo (`pause: {minutes: 1e300}`), not a plan.
pub const MAX_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// The most `retries` of an `until` loop.
pub const MAX_RETRIES: u64 = 1_000_000;

/// The most parallel hosts (`-f`/`--forks`).
pub const MAX_FORKS: u64 = 10_000;

/// The most steps (minijinja instructions) one template may take to render:
/// about 1 to 3 seconds of work in a release build (measured: an empty loop
/// inside a loop costs 250 ns a step, one with a comparison in its body 520
/// ns, on a loaded 2-core machine; a debug build is 6 times slower). A real
/// template needs thousands; one that needs more loops far longer than
/// intended (`range(100000)` inside `range(100000)`), and without a bound it
/// would hold its host's run for ever. (A stop request does not wait for
/// it: see [`crate::plan::jinja::stop`].)
pub const MAX_TEMPLATE_STEPS: u64 = 5_000_000;

/// The environment variable that raises (or lowers) [`MAX_TEMPLATE_STEPS`].
pub const TEMPLATE_STEPS_VAR: &str = "BATON_MAX_TEMPLATE_STEPS";

/// The step bound for templates: `BATON_MAX_TEMPLATE_STEPS` when set (a
/// whole number from 1000), else [`MAX_TEMPLATE_STEPS`].
pub fn template_steps() -> Result<u64, String> {
    let Some(text) = std::env::var_os(TEMPLATE_STEPS_VAR) else {
        return Ok(MAX_TEMPLATE_STEPS);
    };
    let text = text.to_string_lossy();
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1000 => Ok(n),
        _ => Err(format!(
            "{TEMPLATE_STEPS_VAR}={text:?} is not a whole number of template steps from 1000 up"
        )),
    }
}

/// The most lists and mappings a rendered value may nest inside each other:
/// the YAML loader's bound ([`crate::yaml::MAX_DEPTH`], 255) and one. A
/// value built by wrapping another (`{{ [prev] }}` in a chain of variables,
/// or in a `set_fact` run once per loop) stops here with an error instead of
/// overflowing the stack when it is printed, serialised or dropped.
pub const MAX_VALUE_DEPTH: usize = 256;

/// The most levels tasks may nest: blocks, task files (`import_tasks`,
/// `include_tasks`) and roles (`roles:`, `dependencies`, `import_role`,
/// `include_role`) inside each other, counted together. Ansible has no
/// explicit bound; a chain hundreds deep overflowed baton's stack.
pub const MAX_TASK_NESTING: usize = 64;

/// The most tasks a playbook may expand to when it is loaded: every task,
/// block, `include_tasks`/`import_tasks` entry, role (`roles:`,
/// `dependencies`, `include_role`/`import_role`) and play, counted together
/// over the whole run (imported playbooks included). The nesting bound does
/// not stop growth in breadth: 19 files that each include the next one twice
/// expand to 2^19 tasks (1.8 GB), 31 files abort on allocation, and 26 roles
/// that each depend on the next two (`allow_duplicates`) take a minute.
/// Every task costs about 2 KB loaded (measured: 100,000 `debug` tasks in
/// one file load in 1.4 s and 220 MB, release build), so 100,000 keeps a
/// run's tasks within a few hundred MB and its load within seconds, while
/// the largest real playbooks, role collections included, expand to a few
/// thousand. Checked as the tasks are read, not after. Ansible has no bound.
pub const MAX_TASKS: usize = 100_000;

/// The environment variable that raises (or lowers) [`MAX_TASKS`].
pub const TASKS_VAR: &str = "BATON_MAX_TASKS";

/// The bound on tasks: `BATON_MAX_TASKS` when set (a whole number from 1),
/// else [`MAX_TASKS`].
pub fn max_tasks() -> Result<usize, String> {
    let Some(text) = std::env::var_os(TASKS_VAR) else {
        return Ok(MAX_TASKS);
    };
    let text = text.to_string_lossy();
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{TASKS_VAR}={text:?} is not a whole number of tasks from 1 up"
        )),
    }
}

/// The most playbooks `import_playbook` may nest inside each other.
pub const MAX_PLAYBOOK_NESTING: usize = 64;

/// The most items one loop list may have (`with_sequence`, `with_nested`,
/// `with_cartesian`, the `product`/`permutations`/`combinations` filters):
/// each item is a task run, and a list longer than this is a typo
/// (`end=10000000000`) or a product of lists nobody meant. Ansible has no
/// bound.
pub const MAX_LOOP_ITEMS: usize = 1_000_000;

/// The most memory one loop may keep for its items' results on one host,
/// as baton counts it ([`LOOP_ITEM_BYTES`] and [`LOOP_REGISTERED_ITEM_BYTES`]
/// per item, and each result's own text): 256 MiB. A loop keeps every
/// item's result until it ends (for the report, and for `register`), so
/// within [`MAX_LOOP_ITEMS`] a million `debug` items still took 1.7 GB
/// and aborted on allocation. A loop whose item count alone passes this is
/// refused before its first item; one whose results grow past it (large
/// outputs) stops at the item that passes it. Ansible has no bound.
pub const MAX_LOOP_RESULT_BYTES: usize = 256 << 20;

/// What one loop item costs beyond its result's text, rounded up from the
/// measured 1.3 to 1.8 KB a `debug` item (`bench/loop_memory.sh`: peak
/// memory of loops of two sizes, per item): 2 KiB. So a loop of `debug`
/// items may have up to 131,072 of them.
pub const LOOP_ITEM_BYTES: usize = 2 << 10;

/// What `register` (or a looped include) adds per item: its registered
/// mapping, made when the loop ends (a dozen keys, the item, a copy of the
/// result's text): 3 KiB and the text again. A registered loop of `debug`
/// items may have up to 52,428 of them.
pub const LOOP_REGISTERED_ITEM_BYTES: usize = 3 << 10;

/// The number of combinations of lists of these lengths (their product),
/// or `None` when it passes [`MAX_LOOP_ITEMS`]. Checked before the product
/// is built: 5 lists of 100 items make 10^10 combinations, and 10 make a
/// number that overflows `usize`.
pub fn combinations(lens: impl IntoIterator<Item = usize>) -> Option<usize> {
    let mut total: usize = 1;
    let mut empty = false;
    for len in lens {
        if len == 0 {
            empty = true;
        }
        total = total.saturating_mul(len.max(1));
    }
    if empty {
        return Some(0);
    }
    (total <= MAX_LOOP_ITEMS).then_some(total)
}

/// A number as an operator wrote it: `1e30`, not thirty-one digits, `1e-300`
/// not three hundred zeros; `0`,
/// never Rust's `-0`.
fn show(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if value.abs() >= 1e15 || value.abs() < 1e-6 {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// A number of seconds: finite, not negative, at most [`MAX_SECONDS`].
pub fn seconds(value: f64, what: &str) -> Result<f64, String> {
    if value.is_nan() {
        return Err(format!("{what} must be a number of seconds, not NaN"));
    }
    if value.is_infinite() {
        return Err(format!(
            "{what} must be a finite number of seconds, not {}infinity",
            if value < 0.0 { "minus " } else { "" }
        ));
    }
    if value < 0.0 {
        return Err(format!("{what} must not be negative (got {})", show(value)));
    }
    if value > MAX_SECONDS {
        return Err(format!(
            "{what} is {} seconds, more than the {MAX_SECONDS} (30 days) baton accepts",
            show(value)
        ));
    }
    // `-0` (YAML `-0.0`, a template's `-0`) passes as zero, and must print
    // as zero: `sleep -0` in a script, `after -0 s` in a message.
    Ok(value + 0.0)
}

/// A task's `timeout` keyword: a whole number of seconds from 1 to
/// [`MAX_SECONDS`] (`2.0` is 2). A fraction is refused, not rounded:
/// ansible-core reads the keyword as an int field
/// (`FieldAttributeBase.get_validated_value` in
/// `lib/ansible/playbook/base.py` refuses `1.5` with "Floating-point
/// value 1.5 would be truncated"; older releases truncated it, so `0.5`
/// meant no timeout at all). Rounding up without a word made `1e-300` a
/// second and `1.5` two.
pub fn timeout_seconds(value: f64) -> Result<u64, String> {
    let secs = seconds(value, "`timeout`")?;
    if secs <= 0.0 {
        return Err("`timeout` must be a positive number of seconds".to_string());
    }
    if secs.fract() != 0.0 {
        let write = if secs < 1.0 {
            "1, the shortest".to_string()
        } else {
            format!("{} or {}", show(secs.floor()), show(secs.ceil()))
        };
        return Err(format!(
            "`timeout` must be a whole number of seconds (got {}): ansible-core refuses a \
             fraction too (it would be truncated); write {write}",
            show(secs)
        ));
    }
    Ok(secs as u64)
}

/// [`seconds`] as a `Duration`.
pub fn duration(value: f64, what: &str) -> Result<Duration, String> {
    let secs = seconds(value, what)?;
    // Cannot fail: `secs` is finite and within 0..=MAX_SECONDS.
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{what}: {e}"))
}

/// A whole number from `min` to `max`.
pub fn count(value: f64, what: &str, min: u64, max: u64) -> Result<u64, String> {
    if value.is_nan() {
        return Err(format!("{what} must be a whole number, not NaN"));
    }
    if value.is_infinite() {
        return Err(format!("{what} must be a whole number, not infinity"));
    }
    if value < 0.0 {
        return Err(format!("{what} must not be negative (got {})", show(value)));
    }
    if value.fract() != 0.0 {
        return Err(format!(
            "{what} must be a whole number (got {})",
            show(value)
        ));
    }
    if value < min as f64 {
        return Err(format!(
            "{what} must be at least {min} (got {})",
            show(value)
        ));
    }
    if value > max as f64 {
        return Err(format!(
            "{what} is {}, more than the {max} baton accepts",
            show(value)
        ));
    }
    Ok(value as u64)
}

/// A number given as a JSON number or as numeric text (a rendered template).
/// `None` when it is neither. Text may spell `nan`/`inf`: [`seconds`] and
/// [`count`] refuse those by name.
pub fn number_in(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_a_whole_positive_number_of_seconds_never_rounded() {
        assert_eq!(timeout_seconds(2.0), Ok(2));
        assert_eq!(timeout_seconds(1.0), Ok(1));
        for (v, want) in [
            (1.5, "(got 1.5)"),
            (0.0001, "(got 0.0001)"),
            (1e-300, "(got 1e-300)"),
        ] {
            let e = timeout_seconds(v).unwrap_err();
            assert!(
                e.contains("must be a whole number of seconds") && e.contains(want),
                "{e}"
            );
        }
        assert!(timeout_seconds(1.5).unwrap_err().contains("write 1 or 2"));
        assert!(timeout_seconds(0.0).unwrap_err().contains("positive"));
        assert!(timeout_seconds(f64::NAN).unwrap_err().contains("NaN"));
    }

    #[test]
    fn durations_refuse_what_duration_would_panic_on() {
        assert!(seconds(f64::NAN, "`timeout`").unwrap_err().contains("NaN"));
        assert!(seconds(f64::INFINITY, "`pause`")
            .unwrap_err()
            .contains("finite"));
        assert!(seconds(-3.0, "`delay`")
            .unwrap_err()
            .contains("must not be negative (got -3)"));
        assert!(seconds(1e30, "`delay`").unwrap_err().contains("30 days"));
        assert!(seconds(18446744073709551615.0, "`seconds`").is_err());
        assert_eq!(duration(1.5, "x").unwrap(), Duration::from_millis(1500));
        assert_eq!(duration(MAX_SECONDS, "x").unwrap().as_secs(), 2_592_000);
        // Negative zero is zero, and prints as `0`.
        assert!(seconds(-0.0, "x").unwrap().is_sign_positive());
    }

    #[test]
    fn combinations_are_counted_without_overflow() {
        assert_eq!(combinations([3, 4]), Some(12));
        assert_eq!(combinations([100; 3]), Some(1_000_000));
        assert_eq!(combinations([100; 4]), None);
        // 100^10 overflows u64: saturates, then refused
        assert_eq!(combinations([100; 10]), None);
        // an empty list makes no combinations, however long the others
        assert_eq!(combinations([usize::MAX, 0, usize::MAX]), Some(0));
    }

    #[test]
    fn counts_are_whole_and_bounded() {
        assert!(count(2.5, "`retries`", 0, MAX_RETRIES)
            .unwrap_err()
            .contains("whole number (got 2.5)"));
        assert!(count(1e20, "`retries`", 0, MAX_RETRIES)
            .unwrap_err()
            .contains("more than the 1000000"));
        assert!(count(0.0, "-f", 1, MAX_FORKS)
            .unwrap_err()
            .contains("at least 1"));
        assert!(count(-0.0, "-f", 1, MAX_FORKS)
            .unwrap_err()
            .ends_with("at least 1 (got 0)"));
        assert_eq!(count(3.0, "`retries`", 0, MAX_RETRIES).unwrap(), 3);
        assert_eq!(number_in(&Value::String(" 4 ".into())), Some(4.0));
        assert_eq!(number_in(&Value::Bool(true)), None);
    }
}

//! Filters that build lists and mappings: counted before they allocate,
//! and cut by a stop request while they work.
//!
//! The value cap ([`super::limit`]) sees values by their printed text, so
//! a list of single characters (`'x' * 16000000 | list`) passed it as 16 MB
//! while it took 24 bytes an item in minijinja and 72 as JSON: five of them
//! in one expression aborted the run on an allocation. Here every filter
//! that makes a collection of a size its input does not already bound
//! (`list` of a string, `sort`, `map`, `select`, `unique`, `dictsort`,
//! `split`, `lines`, `groupby`; Ansible's `product`, `permutations`,
//! `combinations`, `zip`, `flatten`, `dict2items`, `subelements`,
//! `regex_findall` and `batch` call [`charge`] themselves) counts its result
//! as the rest of baton does ([`ITEM_SLOT_BYTES`] an item,
//! [`ENTRY_SLOT_BYTES`] an entry, plus the text it copies) and refuses one
//! over [`MAX_VALUE_BYTES`] before it is built. Lists each under the cap
//! add up: one render may build [`RENDER_BUDGET`] bytes of them in all.
//!
//! The same wrappers are stop checkpoints ([`super::stop`]): on entry, and
//! every [`STEP`] items of the input they walk, so that a render spending
//! its time in one filter (`big | sort` in a loop) ends on a stop request
//! with [`super::stop::cut_short`] rather than after the filter.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::stop::checkpoint;
use crate::plan::vars::{ENTRY_SLOT_BYTES, ITEM_SLOT_BYTES, MAX_VALUE_BYTES};

/// The bytes of collections one render may build through these filters,
/// temporaries included (a list sorted in a loop counts each time): 16
/// values at the cap. Real renders build kilobytes; counted at 72 bytes an
/// item this is some 3.7 million items, about 90 MB in minijinja's own
/// 24-byte slots, far from what aborts a run.
pub const RENDER_BUDGET: usize = 16 * MAX_VALUE_BYTES;

/// Items between two stop checkpoints in a filter's walk.
pub const STEP: usize = 1024;

thread_local! {
    /// Bytes the render on this thread has built through these filters.
    static SPENT: Cell<usize> = const { Cell::new(0) };
}

/// A new render begins (the outermost one, see [`super::stop::RenderWatch`]).
pub fn reset() {
    SPENT.with(|s| s.set(0));
}

/// Refuse a collection of `items` list items, `entries` mapping entries
/// and `bytes` of new text made by `what`, when over the cap or when the
/// render's builds so far and this one pass [`RENDER_BUDGET`].
pub fn charge(items: usize, entries: usize, bytes: usize, what: &str) -> Result<(), Error> {
    let cost = items
        .saturating_mul(ITEM_SLOT_BYTES)
        .saturating_add(entries.saturating_mul(ENTRY_SLOT_BYTES))
        .saturating_add(bytes);
    super::limit::check(cost, what)?;
    spend(cost, what)
}

/// Count `cost` bytes a filter allocates on the way (a sort's merge
/// buffer, a set of values seen) against the render's [`RENDER_BUDGET`]
/// only: they are no value, so the value cap does not apply.
fn spend(cost: usize, what: &str) -> Result<(), Error> {
    if !super::stop::rendering() {
        return Ok(());
    }
    let total = SPENT.with(|s| {
        let t = s.get().saturating_add(cost);
        s.set(t);
        t
    });
    if total > RENDER_BUDGET {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "{what}: this render has built {total} bytes of lists and mappings, over baton's \
                 limit of {RENDER_BUDGET} bytes ({} MiB) for one render; build large data outside \
                 templates (ship a file with `copy`/`template`, or loop over items in tasks)",
                RENDER_BUDGET >> 20
            ),
        ));
    }
    Ok(())
}

/// [`charge`] of `step` more items to a collection that has `done` items
/// with them: a collection built piece by piece.
pub fn charge_step(done: usize, step: usize, what: &str) -> Result<(), Error> {
    super::limit::check_product(done, ITEM_SLOT_BYTES, what)?;
    charge(step, 0, 0, what)
}

/// The input of a filter that walks it, fed through a counter: a
/// checkpoint every [`STEP`] items (the walk ends once a stop was
/// requested), and for an input of unknown length (an iterator) a
/// [`charge`] of one item each as it goes. [`Fed::finish`] after the
/// filter reports what ended the walk.
struct Fed {
    error: Arc<Mutex<Option<Error>>>,
}

impl Fed {
    fn finish<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        let stored = self.error.lock().ok().and_then(|mut e| e.take());
        if let Some(e) = stored {
            return Err(e);
        }
        checkpoint()?;
        result
    }
}

/// `value` fed through a counter ([`Fed`]), its known length charged first
/// as a list of as many items (the filter's result), and `extra` slots an
/// item more against the render's budget alone (what the filter holds on
/// the way). Values that are not collections are passed as they are (the
/// filter reports them as before).
fn feed(value: Value, extra: usize, what: &'static str) -> Result<(Value, Fed), Error> {
    let per_item = 1 + extra;
    checkpoint()?;
    let error = Arc::new(Mutex::new(None));
    let fed = Fed {
        error: error.clone(),
    };
    if !matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
    ) {
        if let Some(s) = value.as_str() {
            // walked as its characters
            let n = s.chars().count();
            charge(n, 0, 0, what)?;
            spend(n.saturating_mul(extra * ITEM_SLOT_BYTES), what)?;
        }
        return Ok((value, fed));
    }
    let len = value.len();
    if let Some(n) = len {
        charge(n, 0, 0, what)?;
        spend(n.saturating_mul(extra * ITEM_SLOT_BYTES), what)?;
    }
    let iter = value.try_iter()?;
    let mut seen = 0usize;
    let walk = iter.map_while(move |item| {
        seen += 1;
        if seen.is_multiple_of(STEP) {
            let step = match len {
                Some(_) => checkpoint(),
                None => checkpoint().and_then(|()| charge_step(seen, STEP * per_item, what)),
            };
            if let Err(e) = step {
                if let Ok(mut slot) = error.lock() {
                    *slot = Some(e);
                }
                return None;
            }
        }
        Some(item)
    });
    Ok((Value::make_one_shot_iterator(walk), fed))
}

fn list(state: &State, value: Value) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return minijinja::filters::list(state, value);
    }
    let (input, fed) = feed(value, 0, "list")?;
    fed.finish(minijinja::filters::list(state, input))
}

fn map(state: &State, value: Value, args: Rest<Value>) -> Result<Vec<Value>, Error> {
    if value.is_undefined() || value.is_none() {
        return minijinja::filters::map(state, value, args);
    }
    let (input, fed) = feed(value, 0, "map")?;
    fed.finish(minijinja::filters::map(state, input, args))
}

fn select(
    state: &State,
    value: Value,
    test_name: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Vec<Value>, Error> {
    if value.is_undefined() || value.is_none() {
        return minijinja::filters::select(state, value, test_name, args);
    }
    let (input, fed) = feed(value, 0, "select")?;
    fed.finish(minijinja::filters::select(state, input, test_name, args))
}

fn reject(
    state: &State,
    value: Value,
    test_name: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Vec<Value>, Error> {
    if value.is_undefined() || value.is_none() {
        return minijinja::filters::reject(state, value, test_name, args);
    }
    let (input, fed) = feed(value, 0, "reject")?;
    fed.finish(minijinja::filters::reject(state, input, test_name, args))
}

fn selectattr(
    state: &State,
    value: Value,
    attr: String,
    test_name: Option<String>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    select_attr(state, value, attr, test_name, args, false)
}

fn rejectattr(
    state: &State,
    value: Value,
    attr: String,
    test_name: Option<String>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    select_attr(state, value, attr, test_name, args, true)
}

/// [`super::filters::select_attr`] (a missing attribute fails as
/// StrictUndefined does), counted first: it walks its input twice (the
/// attribute check, then the selection), so the input is not fed through
/// the one-pass counter.
fn select_attr(
    state: &State,
    value: Value,
    attr: String,
    test_name: Option<String>,
    args: Rest<Value>,
    reject: bool,
) -> Result<Value, Error> {
    checkpoint()?;
    if let Some(n) = value.len() {
        charge(n, 0, 0, if reject { "rejectattr" } else { "selectattr" })?;
    }
    let selected = super::filters::select_attr(state, value, attr, test_name, args, reject);
    checkpoint()?;
    selected
}

fn unique(state: &State, value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return minijinja::filters::unique(state, value, kwargs);
    }
    // the result and the set of seen values
    let (input, fed) = feed(value, 1, "unique")?;
    fed.finish(minijinja::filters::unique(state, input, kwargs))
}

fn groupby(value: Value, attribute: Option<&str>, kwargs: Kwargs) -> Result<Value, Error> {
    // the items regrouped, and at most a group (a pair) for each
    let (input, fed) = feed(value, 3, "groupby")?;
    fed.finish(minijinja::filters::groupby(input, attribute, kwargs))
}

/// [`super::filters::dictsort`] (Python's ordering), counted first.
fn dictsort(
    value: Value,
    case_sensitive: Option<bool>,
    by: Option<String>,
    reverse: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    checkpoint()?;
    if value.kind() == ValueKind::Map {
        // a pair for each entry, counted as one item as `zip`'s rows are:
        // its key and value are the mapping's
        charge(value.len().unwrap_or(0), 0, 0, "dictsort")?;
    }
    let sorted = super::filters::dictsort(value, case_sensitive, by, reverse, kwargs);
    checkpoint()?;
    sorted
}

fn reverse(value: &Value) -> Result<Value, Error> {
    checkpoint()?;
    match value.as_str() {
        Some(s) => charge(0, 0, s.len(), "reverse")?,
        None => charge(value.len().unwrap_or(0), 0, 0, "reverse")?,
    }
    minijinja::filters::reverse(value)
}

/// The pieces `s.split(sep)` (whitespace when `None`) makes, at most
/// `max` when given, without making them.
pub fn split_count(s: &str, sep: Option<&str>, max: Option<usize>) -> usize {
    let n = match sep {
        Some("") => return 1, // an error, as Python's
        Some(sep) => s.matches(sep).count() + 1,
        None => s.split_whitespace().count(),
    };
    max.map_or(n, |m| n.min(m))
}

/// minijinja's `split`, counted first. Ansible's `split` is Python's
/// str.split: an empty separator raises (trial case 194).
fn split(value: &Value, sep: Option<Arc<str>>, maxsplits: Option<i64>) -> Result<Value, Error> {
    checkpoint()?;
    if sep.as_deref() == Some("") {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "split: empty separator",
        ));
    }
    if let Some(s) = value.as_str() {
        let max = maxsplits.and_then(|m| usize::try_from(m).ok().map(|m| m.saturating_add(1)));
        charge(split_count(s, sep.as_deref(), max), 0, s.len(), "split")?;
    }
    minijinja::filters::split(value, sep, maxsplits)
}

fn lines(value: &Value) -> Result<Value, Error> {
    checkpoint()?;
    if let Some(s) = value.as_str() {
        charge(s.lines().count(), 0, s.len(), "lines")?;
    }
    minijinja::filters::lines(value)
}

/// [`super::filters::sort`] (Python's ordering, with a stop checkpoint
/// every [`STEP`] comparisons), its input fed through the counter: the
/// items and the sort's buffer.
fn sort(
    value: Value,
    reverse: Option<bool>,
    case_sensitive: Option<bool>,
    attribute: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return super::filters::sort(value, reverse, case_sensitive, attribute, kwargs);
    }
    let (input, fed) = feed(value, 1, "sort")?;
    fed.finish(super::filters::sort(
        input,
        reverse,
        case_sensitive,
        attribute,
        kwargs,
    ))
}

/// minijinja's builtins that build collections, wrapped: counted
/// ([`charge`]) and with stop checkpoints. Register after the builtins.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("list", list);
    env.add_filter("map", map);
    env.add_filter("select", select);
    env.add_filter("reject", reject);
    env.add_filter("selectattr", selectattr);
    env.add_filter("rejectattr", rejectattr);
    env.add_filter("unique", unique);
    env.add_filter("groupby", groupby);
    env.add_filter("dictsort", dictsort);
    env.add_filter("reverse", reverse);
    env.add_filter("split", split);
    env.add_filter("lines", lines);
    env.add_filter("sort", sort);
}

#[cfg(test)]
mod tests {
    use super::super::eval_rewritten as eval;
    use super::super::stop::RenderWatch;

    #[test]
    fn lists_made_by_filters_are_refused_over_the_cap_before_they_are_built() {
        for expr in [
            "('x' * 16000000) | list | length",
            "('x' * 1000000) | list | length",
            "('x ' * 8000000) | split | length",
            "('x\n' * 8000000) | lines | length",
            "('x,' * 8000000) | split(',') | length",
            "('x' * 1000000) | map('upper') | list | length",
            "('x' * 1000000) | unique | list | length",
            "('x' * 200000) | product('ab') | list | length",
            "('x' * 1000000) | regex_findall('x') | length",
            "('x' * 1000000) | batch(2) | list | length",
            "('ab' * 1000000).split('b') | length",
        ] {
            let e = eval(expr).unwrap_err();
            assert!(
                e.contains("16 MiB limit") || e.contains("results"),
                "{expr}: {e}"
            );
        }
        // under the cap, as before
        assert_eq!(eval("'abc' | list").as_deref(), Ok(r#"["a", "b", "c"]"#));
        // a list under the cap sorts (its merge buffer is no value)
        assert_eq!(
            eval("((range(100000) | list) + (range(100000) | list)) | sort | unique | length")
                .as_deref(),
            Ok("100000")
        );
        assert_eq!(
            eval("('x' * 200000) | list | length").as_deref(),
            Ok("200000")
        );
        assert_eq!(
            eval("'a b  c' | split").as_deref(),
            Ok(r#"["a", "b", "c"]"#)
        );
        assert_eq!(
            eval("'a,b,c' | split(',', 1)").as_deref(),
            Ok(r#"["a", "b,c"]"#)
        );
        assert_eq!(
            eval("range(3) | map('string') | list").as_deref(),
            Ok(r#"["0", "1", "2"]"#)
        );
        assert_eq!(
            eval("[3, 1, 2] | select('>', 1) | list").as_deref(),
            Ok("[3, 2]")
        );
        assert_eq!(
            eval("{'b': 1, 'a': 2} | dictsort").as_deref(),
            Ok(r#"[["a", 2], ["b", 1]]"#)
        );
        assert_eq!(eval("'abc' | reverse").as_deref(), Ok("cba"));
        assert_eq!(
            eval("['b', 'A', 'a', 'c'] | unique | list").as_deref(),
            Ok(r#"["b", "A", "c"]"#)
        );
    }

    #[test]
    fn lists_each_under_the_cap_add_up_to_the_render_budget() {
        // 200,000 items are 14.4 MB each: 19 of them pass 256 MiB
        let many = format!(
            "[{}] | length",
            vec!["('x' * 200000) | list"; 20].join(", ")
        );
        // outside a render, each is counted alone
        assert_eq!(eval(&many).as_deref(), Ok("20"));
        let _watch = RenderWatch::start();
        let e = eval(&many).unwrap_err();
        assert!(e.contains("limit of 268435456 bytes"), "{e}");
    }

    #[test]
    fn sort_is_stable_and_as_jinja2_sorts() {
        // past one run: merged
        let mut expected: Vec<String> = (0..50000).map(|i| i.to_string()).collect();
        expected.sort();
        assert_eq!(
            eval("range(50000) | map('string') | shuffle | sort | join(',')"),
            Ok(expected.join(","))
        );
        assert_eq!(
            eval("['b', 'B', 'a', 'C', 'A'] | sort").as_deref(),
            Ok(r#"["a", "A", "b", "B", "C"]"#)
        );
        assert_eq!(
            eval("['b', 'B', 'a'] | sort(case_sensitive=true)").as_deref(),
            Ok(r#"["B", "a", "b"]"#)
        );
        assert_eq!(
            eval("[3, 1, 2] | sort(reverse=true)").as_deref(),
            Ok("[3, 2, 1]")
        );
    }

    #[test]
    fn a_stop_cuts_a_long_filter() {
        let _watch = RenderWatch::start();
        super::super::stop::request_stop_on_this_thread();
        for expr in [
            "range(5000) | list | sort",
            "range(5000) | map('string') | list",
        ] {
            let e = eval(expr).unwrap_err();
            assert!(e.contains("render cut short"), "{expr}: {e}");
        }
    }
}

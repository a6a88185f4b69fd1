//! Cost grows linearly with the input: hosts, variables, YAML keys, loop
//! items, inventory groups. Measured by counting what the code allocates
//! (a counting global allocator, per thread), never by timing: each test
//! runs the same input at two sizes and asserts that doubling the input at
//! most about doubles the allocations (a quadratic cost quadruples them, a
//! cubic one multiplies them by eight), or puts a ceiling on the bytes.
//!
//! Everything measured runs on the test's own thread (a current-thread tokio
//! runtime), so tests running side by side do not count each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use baton::load::inventory::Inventory;

struct Counting;

/// Per thread: allocations made, bytes live now, the most bytes live.
#[derive(Clone, Copy, Default, Debug)]
struct Stats {
    allocs: usize,
    live: usize,
    peak: usize,
}

thread_local! {
    static STATS: Cell<Stats> = const { Cell::new(Stats { allocs: 0, live: 0, peak: 0 }) };
}

fn on_alloc(size: usize) {
    let _ = STATS.try_with(|s| {
        let mut v = s.get();
        v.allocs += 1;
        v.live += size;
        v.peak = v.peak.max(v.live);
        s.set(v);
    });
}

fn on_free(size: usize) {
    let _ = STATS.try_with(|s| {
        let mut v = s.get();
        v.live = v.live.saturating_sub(size);
        s.set(v);
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// bookkeeping touches only a const-initialised thread-local `Cell`, which
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(layout.size());
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_free(layout.size());
        on_alloc(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What `f` allocated on this thread: how many times, and the most bytes
/// live at once above what was live before.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Stats) {
    let before = STATS.with(Cell::get);
    STATS.with(|s| {
        s.set(Stats {
            peak: before.live,
            ..before
        })
    });
    let out = f();
    let after = STATS.with(Cell::get);
    let stats = Stats {
        allocs: after.allocs - before.allocs,
        live: after.live.saturating_sub(before.live),
        peak: after.peak.saturating_sub(before.live),
    };
    (out, stats)
}

/// Asserts that going from size `n` to `2n` multiplies `what` by less than
/// `max_ratio` (2 for linear; quadratic gives 4, cubic 8).
fn assert_linear(what: &str, small: usize, large: usize, max_ratio: f64) {
    let ratio = large as f64 / small.max(1) as f64;
    assert!(
        ratio < max_ratio,
        "{what}: {small} at n, {large} at 2n (x{ratio:.2}; linear is x2)"
    );
}

fn flat_mapping(n: usize) -> String {
    let mut text = String::from("- hosts: all\n  gather_facts: false\n  vars:\n");
    for i in 0..n {
        text.push_str(&format!("    key_{i}: value {i}\n"));
    }
    text.push_str("  tasks:\n    - debug: msg=hi\n");
    text
}

#[test]
fn a_large_mapping_loads_in_allocations_linear_in_its_keys() {
    // The duplicate-key check scanned every earlier key, copying its text,
    // for each new key: 12.5 million copies at 5,000 keys.
    let load = |n: usize| {
        let text = flat_mapping(n);
        let (pb, stats) =
            measure(|| baton::load::playbook::load_text("big.yml", text, Path::new(".")));
        let pb = pb.expect("loads");
        assert_eq!(pb.plays[0].vars.len(), n);
        stats.allocs
    };
    let small = load(5_000);
    let large = load(10_000);
    assert_linear("allocations loading a mapping", small, large, 2.5);
    assert!(large < 100 * 10_000, "{large} allocations for 10,000 keys");
}

#[test]
fn a_duplicate_among_many_keys_is_still_named() {
    let mut text = flat_mapping(20_000);
    text = text.replace("  tasks:", "    key_17: again\n  tasks:");
    let Err(err) = baton::load::playbook::load_text("big.yml", text, Path::new(".")) else {
        panic!("a duplicate key loaded");
    };
    assert_eq!(
        err.message,
        "duplicate key `key_17` (first defined at big.yml:21:5)"
    );
}

#[allow(dead_code)]
fn inventory(text: &str) -> Inventory {
    Inventory::from_text("hosts.ini", text).expect("inventory loads")
}

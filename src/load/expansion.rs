//! What one load shares across its plays, roles and imported playbooks: the
//! count of tasks read so far, bounded by [`crate::bounds::MAX_TASKS`], and
//! the task files already parsed.
//!
//! A file included from several places is expanded once per place (its
//! tasks inherit each place's keywords), so a chain of files that each
//! include the next one twice doubles at every level: the count stops it as
//! it grows, and the cache keeps each file to one read and one parse however
//! often it is named.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::bounds;
use crate::error::InputError;
use crate::yaml::{self, Node};

pub struct Expansion {
    limit: usize,
    count: Cell<usize>,
    files: RefCell<HashMap<PathBuf, Rc<Node>>>,
}

impl Expansion {
    /// A fresh count, bounded by `BATON_MAX_TASKS` or [`bounds::MAX_TASKS`].
    /// Errors: `BATON_MAX_TASKS` set to something other than a whole number
    /// from 1.
    pub fn new() -> Result<Rc<Expansion>, InputError> {
        let limit = bounds::max_tasks().map_err(|e| {
            InputError::plain(e).with_help(format!(
                "unset {} or give a whole number (the default is {})",
                bounds::TASKS_VAR,
                bounds::MAX_TASKS
            ))
        })?;
        Ok(Expansion::with_limit(limit))
    }

    pub fn with_limit(limit: usize) -> Rc<Expansion> {
        Rc::new(Expansion {
            limit,
            count: Cell::new(0),
            files: RefCell::new(HashMap::new()),
        })
    }

    /// The bound in force.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Count one more task (block, include, role or play); `false` when
    /// that passes the bound (the caller reports where).
    pub fn charge(&self) -> bool {
        let n = self.count.get().saturating_add(1);
        self.count.set(n);
        n <= self.limit
    }

    /// Whether `path` is a regular file: a file already parsed is (its
    /// second include costs no `stat`).
    pub fn is_file(&self, path: &Path) -> bool {
        self.files.borrow().contains_key(path) || path.is_file()
    }

    /// The YAML of `path`, parsed on its first use and shared after.
    /// Errors: those of [`yaml::parse_file`] (not cached: the load stops).
    pub fn parse_file(&self, path: &Path) -> Result<Rc<Node>, InputError> {
        if let Some(node) = self.files.borrow().get(path) {
            return Ok(Rc::clone(node));
        }
        let node = Rc::new(yaml::parse_file(path)?);
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), Rc::clone(&node));
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_passes_the_bound_on_the_next_task() {
        let e = Expansion::with_limit(3);
        assert!(e.charge() && e.charge() && e.charge());
        assert!(!e.charge());
        assert_eq!(e.limit(), 3);
    }

    #[test]
    fn a_file_is_parsed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.yml");
        std::fs::write(&path, "- debug: msg=one\n").unwrap();
        let e = Expansion::with_limit(10);
        let first = e.parse_file(&path).unwrap();
        std::fs::write(&path, "- debug: msg=two\n").unwrap();
        let again = e.parse_file(&path).unwrap();
        assert!(Rc::ptr_eq(&first, &again));
    }
}

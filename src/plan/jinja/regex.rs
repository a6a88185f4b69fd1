//! Python's regex dialect for the `regex_*` filters and `search`/`match`
//! tests: the translation lives in the base layer ([`crate::pyregex`]) so the
//! `lineinfile`/`blockinfile` modules use the same dialect.

pub use crate::pyregex::{check_replacement, compile, py_captures, replacement};

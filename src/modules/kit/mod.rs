//! The module kit: what modules are built from, not modules themselves.
//! Reading arguments, the answer protocol of a script, file attributes and
//! atomic writes, controller-side text edits, and the result type.

pub mod answer;
pub mod args;
pub mod chain;
pub mod deploy;
pub mod edit;
pub mod fileops;
pub mod result;
pub mod rewrite;
#[cfg(test)]
pub mod testutil;
pub mod tool;

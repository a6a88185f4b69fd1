//! Planning: hosts x tasks, variables with precedence, strict templates.

pub mod helpers;
pub mod host_vars;
pub mod jinja;
pub mod template;
pub mod vars;

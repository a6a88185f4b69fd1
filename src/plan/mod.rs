//! Planning: hosts x tasks, variables with precedence, templates (Jinja2,
//! handlebars for `.hbs` files), and the compile of every template and
//! condition of a loaded playbook before anything runs.

pub mod backslash;
pub mod compile;
pub mod context;
pub mod helpers;
pub mod host_vars;
pub mod hostvars;
pub mod jinja;
pub mod lookups;
pub mod template;
pub mod vars;
pub mod vars_files;

//! The inventory: which hosts exist, how they are grouped, and their variables.
//!
//! Static Ansible inventories load unchanged: the YAML shape (`yaml`), the INI
//! shape (`ini`), a directory of such files, and a comma list (`web1,web2,`)
//! (`sources`). `group_vars/` and `host_vars/` beside each source are read
//! too (`vars_files`). Host selection by pattern lives in `pattern`.
//!
//! Where Ansible is ambiguous or lenient, baton is strict: a key Ansible would
//! skip with a warning (a typo such as `host:` for `hosts:`) is an error here,
//! because silently dropping hosts from a failover run is worse than stopping.
//!
//! Dependencies run one way: `model` is at the bottom and reads no file;
//! `build` makes a model; the loaders (`yaml`, `ini`) feed `build`; `sources`
//! picks a loader per `-i` source; `pattern`, `output` and `vars_files` work
//! on a built model. `ranges`, `glob`, `pattern_syntax` and `py_literal` are
//! leaves.

mod build;
pub mod glob;
mod ini;
mod model;
mod output;
mod pattern;
mod pattern_syntax;
mod py_literal;
mod ranges;
mod sources;
mod vars_files;
mod yaml;

pub use model::{
    check_connection_vars, connection_refusal, connection_var, connection_var_entry,
    is_connection_var_name, is_text_value, kex_choice, persist_secs, port_number, shown,
    ConnectionSource, Group, Host, Inventory, VarOrigins, CONNECTIONS, KEX_HELP, KEX_REFUSAL,
    LOCALHOST_NAMES, PERSIST_HELP, PERSIST_REFUSAL, PORT_HELP, PORT_REFUSAL, TEXT_CONNECTION_VARS,
    TEXT_HELP, TEXT_REFUSAL,
};

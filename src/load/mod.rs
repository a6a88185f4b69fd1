//! Loading: inventory and playbooks, from YAML (and INI) into typed values that
//! keep their source origins.

pub mod inventory;
pub mod inventory_ini;
pub mod pattern;

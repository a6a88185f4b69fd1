//! TEMPORARY stub with the agreed API; replaced by the inventory branch.
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::InputError;

#[derive(Default)]
pub struct Inventory {
    hosts: Vec<(String, Map<String, Value>)>,
}

impl Inventory {
    pub fn load(_sources: &[PathBuf]) -> Result<Inventory, InputError> {
        Ok(Inventory::default())
    }
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|(h, _)| h.clone()).collect()
    }
    pub fn contains_host(&self, name: &str) -> bool {
        self.hosts.iter().any(|(h, _)| h == name)
    }
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        let mut m = self
            .hosts
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        m.insert("inventory_hostname".into(), Value::String(host.into()));
        if host == "localhost" {
            m.insert("ansible_connection".into(), Value::String("local".into()));
        }
        m
    }
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InputError> {
        Ok(if pattern == "localhost" {
            vec!["localhost".into()]
        } else {
            self.host_names()
        })
    }
    pub fn to_list_json(&self) -> Value {
        Value::Null
    }
    pub fn to_graph(&self) -> String {
        String::new()
    }
}

pub fn connection_var<'a>(vars: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    vars.get(&format!("baton_{key}"))
        .or_else(|| vars.get(&format!("ansible_{key}")))
}

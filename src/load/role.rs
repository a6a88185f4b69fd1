//! Roles: `tasks/`, `handlers/`, `templates/`, `files/`, `defaults/`, `vars/`
//! and `meta/main.yml` dependencies.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::InputError;
use crate::yaml::{self, Node};

use super::fields::{expect_seq, var_pairs};
use super::task::{Item, RoleInfo, TaskCommon, TaskSource};
use super::task_parser::{parse_task_file, role_entry_common, ParseCtx};

pub struct LoadedRole {
    pub info: Arc<RoleInfo>,
    pub defaults: Vec<(String, Node)>,
    pub vars: Vec<(String, Node)>,
    tasks_file: Option<PathBuf>,
    handlers_file: Option<PathBuf>,
    dependencies: Vec<Node>,
    playbook_dir: PathBuf,
}

/// Finds and loads roles; remembers every role a play loaded so the play can
/// put their defaults and vars at the right precedence.
pub struct RoleLoader {
    search: Vec<PathBuf>,
    loaded: RefCell<Vec<Arc<LoadedRole>>>,
}

fn main_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .chain(std::iter::once(dir.join(stem)))
        .find(|p| p.is_file())
}

impl RoleLoader {
    /// Roles are searched in `roles/` beside the playbook, `roles/` beside the
    /// playbook's directory (the project layout: playbooks/ and roles/ side by
    /// side), `./roles`, then BATON_ROLES_PATH and ANSIBLE_ROLES_PATH.
    pub fn new(playbook_dir: &Path) -> RoleLoader {
        let mut search = vec![playbook_dir.join("roles")];
        if let Some(parent) = playbook_dir.parent() {
            search.push(parent.join("roles"));
        }
        search.push(PathBuf::from("roles"));
        for var in ["BATON_ROLES_PATH", "ANSIBLE_ROLES_PATH"] {
            if let Ok(paths) = std::env::var(var) {
                search.extend(std::env::split_paths(&paths));
            }
        }
        RoleLoader {
            search,
            loaded: RefCell::new(Vec::new()),
        }
    }

    /// Roles loaded since the last call, in load order.
    pub fn take_loaded(&self) -> Vec<Arc<LoadedRole>> {
        std::mem::take(&mut *self.loaded.borrow_mut())
    }

    pub fn load(
        &self,
        name: &str,
        at: &Node,
        tasks_from: Option<&str>,
        playbook_dir: &Path,
    ) -> Result<Arc<LoadedRole>, InputError> {
        let path = if name.contains('/') {
            let p = playbook_dir.join(name);
            p.is_dir().then_some(p)
        } else {
            self.search
                .iter()
                .map(|d| d.join(name))
                .find(|p| p.is_dir())
        };
        let Some(path) = path else {
            let looked: Vec<String> = self
                .search
                .iter()
                .map(|p| p.join(name).display().to_string())
                .collect();
            return Err(InputError::at(
                &at.origin,
                format!("role `{name}` not found"),
                "this role",
            )
            .with_help(format!("looked in: {}", looked.join(", "))));
        };
        let load_vars = |dir: &str| -> Result<Vec<(String, Node)>, InputError> {
            match main_file(&path.join(dir), "main") {
                Some(f) => var_pairs(&yaml::parse_file(&f)?, &format!("{}/{dir}/main.yml", name)),
                None => Ok(Vec::new()),
            }
        };
        let tasks_file = match tasks_from {
            Some(file) => {
                let stem = file.trim_end_matches(".yml").trim_end_matches(".yaml");
                Some(main_file(&path.join("tasks"), stem).ok_or_else(|| {
                    InputError::at(
                        &at.origin,
                        format!("role `{name}` has no tasks/{file}"),
                        "tasks_from",
                    )
                })?)
            }
            None => main_file(&path.join("tasks"), "main"),
        };
        let dependencies = match main_file(&path.join("meta"), "main") {
            Some(f) => {
                let meta = yaml::parse_file(&f)?;
                match meta.get("dependencies") {
                    Some(d) if !d.is_null() => expect_seq(d, "`dependencies`")?.to_vec(),
                    _ => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        let role = Arc::new(LoadedRole {
            info: Arc::new(RoleInfo {
                name: name.to_string(),
                path: path.clone(),
            }),
            defaults: load_vars("defaults")?,
            vars: load_vars("vars")?,
            handlers_file: main_file(&path.join("handlers"), "main"),
            tasks_file,
            dependencies,
            playbook_dir: playbook_dir.to_path_buf(),
        });
        self.loaded.borrow_mut().push(Arc::clone(&role));
        Ok(role)
    }
}

impl LoadedRole {
    fn ctx<'a>(&self, roles: &'a RoleLoader, dir: PathBuf, handlers: bool) -> ParseCtx<'a> {
        ParseCtx {
            source: Arc::new(TaskSource {
                dir,
                role: Some(Arc::clone(&self.info)),
                playbook_dir: self.playbook_dir.clone(),
            }),
            roles,
            stack: Vec::new(),
            handlers,
        }
    }

    /// The role's tasks (after its dependencies' tasks), inheriting `common`.
    pub fn task_items(
        &self,
        common: &TaskCommon,
        roles: &RoleLoader,
    ) -> Result<Vec<Item>, InputError> {
        let mut items = Vec::new();
        for dep in &self.dependencies {
            let (name, at, mut dep_common) = role_entry_common(dep)?;
            dep_common.inherit(common);
            let role = roles.load(&name, &at, None, &self.playbook_dir)?;
            items.extend(role.task_items(&dep_common, roles)?);
        }
        if let Some(file) = &self.tasks_file {
            let ctx = self.ctx(roles, self.info.path.join("tasks"), false);
            items.extend(parse_task_file(file, common, &ctx, None)?);
        }
        Ok(items)
    }

    pub fn handler_items(&self, roles: &RoleLoader) -> Result<Vec<Item>, InputError> {
        match &self.handlers_file {
            Some(file) => {
                let ctx = self.ctx(roles, self.info.path.join("handlers"), true);
                parse_task_file(file, &TaskCommon::default(), &ctx, None)
            }
            None => Ok(Vec::new()),
        }
    }
}

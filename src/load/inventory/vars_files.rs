//! `group_vars/` and `host_vars/` beside the inventory and beside the playbook.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::source::{Origin, SourceFile};
use crate::yaml;

use super::model::{extend, Inventory, VarOrigins, VarsFiles, LOCALHOST_NAMES};
use super::yaml::{parse_json_or_yaml, var_entries, vault_file_error};

impl Inventory {
    /// Load `group_vars/` and `host_vars/` beside a playbook. They override the
    /// inventory's files at the same level (Ansible's "playbook group_vars").
    pub fn load_playbook_vars(&mut self, playbook_dir: &Path) -> Result<(), InputError> {
        let mut files = std::mem::take(&mut self.playbook_files);
        let loaded = files.load(playbook_dir, self);
        self.playbook_files = files;
        loaded
    }

    /// Load `group_vars/` and `host_vars/` in `dir`, an inventory source's
    /// directory (inventory level: the playbook's files win over these).
    pub(super) fn load_inventory_vars(&mut self, dir: &Path) -> Result<(), InputError> {
        let mut files = std::mem::take(&mut self.inventory_files);
        let loaded = files.load(dir, self);
        self.inventory_files = files;
        loaded
    }
}

impl VarsFiles {
    /// Read `dir/group_vars/NAME*` for every group and `dir/host_vars/NAME*`
    /// for every host (and the localhost names, for the implicit localhost).
    fn load(&mut self, dir: &Path, inv: &Inventory) -> Result<(), InputError> {
        let group_dir = dir.join("group_vars");
        if group_dir.is_dir() {
            for group in &inv.groups {
                if let Some((vars, origins)) = read_entity_vars(&group_dir, &group.name)? {
                    extend(self.groups.entry(group.name.clone()).or_default(), &vars);
                    let places = self.group_origins.entry(group.name.clone()).or_default();
                    places.extend(origins);
                }
            }
        }
        let host_dir = dir.join("host_vars");
        if host_dir.is_dir() {
            let implicit = LOCALHOST_NAMES
                .iter()
                .filter(|n| !inv.contains_host(n))
                .map(|n| n.to_string());
            let names: Vec<String> = inv
                .hosts
                .iter()
                .map(|h| h.name.clone())
                .chain(implicit)
                .collect();
            for name in names {
                if let Some((vars, origins)) = read_entity_vars(&host_dir, &name)? {
                    self.host_origins
                        .entry(name.clone())
                        .or_default()
                        .extend(origins);
                    extend(self.hosts.entry(name).or_default(), &vars);
                }
            }
        }
        Ok(())
    }
}

/// An entity's variables and where each was set.
type Placed = (Map<String, Value>, VarOrigins);

/// Ansible's lookup for one entity in group_vars/ or host_vars/: the first of
/// `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; a directory is
/// read whole (sorted, recursively). With where each variable was set.
fn read_entity_vars(base: &Path, name: &str) -> Result<Option<Placed>, InputError> {
    // A host named `../x` must not read files outside the vars directory.
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Ok(None);
    }
    for extension in ["", ".yml", ".yaml", ".json"] {
        let path = base.join(format!("{name}{extension}"));
        if !path.exists() {
            // `exists()` is false for a link that loops (`a.yml -> a.yml`):
            // skipping it would drop the group's variables without a word.
            if let Some(why) = crate::source::there_but_unreadable(&path)
                .filter(|why| why.starts_with("is a loop"))
            {
                return Err(
                    InputError::plain(format!("{} {why}", path.display())).with_help(
                        "point the link at a file or directory of variables, or remove it",
                    ),
                );
            }
            continue;
        }
        let files = if path.is_dir() {
            let mut files = Vec::new();
            vars_dir_files(&path, &mut HashMap::new(), &mut files)?;
            files
        } else {
            vec![path]
        };
        let mut vars = Map::new();
        let mut origins = VarOrigins::new();
        for file in files {
            for (name, value, origin) in read_vars_file(&file)? {
                origins.insert(name.clone(), origin);
                vars.insert(name, value);
            }
        }
        super::model::check_connection_vars(&vars, &origins)?;
        return Ok(Some((vars, origins)));
    }
    Ok(None)
}

/// The files of a vars directory, sorted, its subdirectories' in place.
/// `read`: every directory read so far in this walk, by device and inode,
/// with the path it was read at. A symbolic link to a directory is
/// followed, as Ansible follows it; one to a directory already read (an
/// ancestor: `a/up -> ..`) is refused, naming the link and its target,
/// where the walk would go round until the path is 40 links long.
fn vars_dir_files(
    dir: &Path,
    read: &mut HashMap<(u64, u64), PathBuf>,
    found: &mut Vec<PathBuf>,
) -> Result<(), InputError> {
    if let Ok(meta) = std::fs::metadata(dir) {
        if let Some(first) = read.insert((meta.dev(), meta.ino()), dir.to_path_buf()) {
            return Err(directory_read_twice(dir, &first));
        }
    }
    for path in sorted_dir_entries(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() {
            if extension.is_none() {
                vars_dir_files(&path, read, found)?;
            }
        } else if matches!(extension.as_deref(), None | Some("yml" | "yaml" | "json")) {
            found.push(path);
        }
    }
    Ok(())
}

/// `dir` leads to the directory already read at `first`: a loop when
/// `first` is above it, else a second way to the same files.
fn directory_read_twice(dir: &Path, first: &Path) -> InputError {
    let what = if dir.starts_with(first) {
        format!("leads back to {}: a loop", first.display())
    } else {
        format!("leads to {}, already read", first.display())
    };
    let message = match std::fs::read_link(dir) {
        Ok(target) => format!(
            "{} is a symbolic link to {}, which {what}",
            dir.display(),
            target.display()
        ),
        Err(_) => format!("{} {what}", dir.display()),
    };
    InputError::plain(message).with_help(
        "a group_vars/ or host_vars/ directory is read whole, each directory in it once: remove the link, or link to a directory outside it",
    )
}

fn read_vars_file(path: &Path) -> Result<Vec<(String, Value, Origin)>, InputError> {
    let file = SourceFile::read(path)?;
    if file.text.trim_start().starts_with("$ANSIBLE_VAULT;") {
        return Err(vault_file_error(&file));
    }
    let is_json = path.extension().is_some_and(|e| e == "json");
    let root = if is_json {
        parse_json_or_yaml(&file)?
    } else {
        yaml::parse(&file)?
    };
    let what = format!("variables file {}", file.display_name());
    var_entries(&root, &what, |_| {
        "write `name: value` lines at the top level".to_string()
    })
}

pub(super) fn sorted_dir_entries(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        InputError::plain(format!("cannot read directory {}: {e}", dir.display()))
            .with_help("check that the directory exists and is readable")
    })?;
    let mut paths = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| {
            InputError::plain(format!("cannot read directory {}: {e}", dir.display()))
        })?;
        paths.push(entry.path());
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory_with_group_vars(links: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "[web]\nweb1\n").unwrap();
        std::fs::create_dir_all(dir.path().join("group_vars/web/a")).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        std::fs::write(dir.path().join("group_vars/web/a/x.yml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("other/y.yml"), "y: 2\n").unwrap();
        for (link, target) in links {
            std::os::unix::fs::symlink(target, dir.path().join(link)).unwrap();
        }
        (dir, hosts)
    }

    #[test]
    fn a_symlink_loop_in_group_vars_is_named_with_its_target() {
        let (dir, hosts) = inventory_with_group_vars(&[("group_vars/web/a/up", "..")]);
        let err = Inventory::load(&[hosts]).unwrap_err();
        let web = dir.path().join("group_vars/web");
        assert_eq!(
            err.message,
            format!(
                "{}/a/up is a symbolic link to .., which leads back to {}: a loop",
                web.display(),
                web.display()
            )
        );
        assert!(err.help.unwrap().contains("remove the link"));
    }

    #[test]
    fn a_vars_file_linked_to_itself_is_named_not_skipped() {
        let (dir, hosts) = inventory_with_group_vars(&[("group_vars/web.yml", "web.yml")]);
        std::fs::remove_dir_all(dir.path().join("group_vars/web")).unwrap();
        let err = Inventory::load(&[hosts]).unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "{}/group_vars/web.yml is a loop of symbolic links (one of them points back)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn a_literal_unknown_connection_in_group_vars_is_refused_at_its_line() {
        let (dir, hosts) = inventory_with_group_vars(&[]);
        let file = dir.path().join("group_vars/web/a/x.yml");
        std::fs::write(&file, "x: 1\nansible_connection: telepathy\n").unwrap();
        let err = Inventory::load(&[hosts]).unwrap_err();
        assert_eq!(
            err.message,
            "ansible_connection: connection type `telepathy` is not supported"
        );
        assert!(err
            .location
            .unwrap()
            .ends_with("group_vars/web/a/x.yml:2:21"));
    }

    #[test]
    fn a_second_link_to_a_directory_read_is_named_and_a_link_elsewhere_is_read() {
        let (dir, hosts) = inventory_with_group_vars(&[("group_vars/web/b", "a")]);
        let err = Inventory::load(&[hosts]).unwrap_err();
        let web = dir.path().join("group_vars/web");
        assert_eq!(
            err.message,
            format!(
                "{}/b is a symbolic link to a, which leads to {}/a, already read",
                web.display(),
                web.display()
            )
        );
        drop(dir);
        let (_dir, hosts) = inventory_with_group_vars(&[("group_vars/web/o", "../../other")]);
        let inv = Inventory::load(&[hosts]).unwrap();
        let vars = inv.host_vars("web1");
        assert_eq!((&vars["x"], &vars["y"]), (&1.into(), &2.into()));
    }
}

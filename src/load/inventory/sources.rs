//! Inventory sources as given to `-i`: files (YAML or INI, told apart by
//! content as Ansible's plugins do; `.json` is JSON), directories of them,
//! and comma lists.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::InputError;
use crate::source::{Origin, SourceFile};
use crate::yaml;

use super::build::Builder;
use super::model::{Inventory, UNGROUPED};
use super::ranges::split_port;
use super::vars_files::sorted_dir_entries;
use super::yaml::{line_origin, parse_json_or_yaml, vault_file_error};
use super::{ini, yaml as yaml_inventory};

/// Files Ansible skips in an inventory directory (ansible-core 2.19 defaults,
/// which read `.ini` files).
const IGNORED_EXTENSIONS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

impl Inventory {
    /// Load and merge inventory sources, in order: YAML or INI files, directories
    /// (every file in them, as Ansible does), or comma lists such as `web1,web2,`
    /// (a string with a comma that is not an existing path). No source at all
    /// gives an empty inventory. `group_vars/` and `host_vars/` next to each
    /// source (inside it, for a directory) are loaded too.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory, InputError> {
        let mut builder = Builder::new();
        let mut vars_dirs: Vec<PathBuf> = Vec::new();
        for source in sources {
            if let Some(dir) = load_source(&mut builder, source)? {
                if !vars_dirs.contains(&dir) {
                    vars_dirs.push(dir);
                }
            }
        }
        let mut inv = builder.finish()?;
        for dir in &vars_dirs {
            inv.load_inventory_vars(dir)?;
        }
        Ok(inv)
    }

    /// An inventory from text, as if read from a file named `name` (as for
    /// files: `.json` is JSON, anything else YAML or INI by content). No
    /// group_vars/ or host_vars/.
    pub fn from_text(name: &str, text: &str) -> Result<Inventory, InputError> {
        let mut builder = Builder::new();
        let file = SourceFile::new(name, text.to_string());
        load_source_file(&mut builder, Path::new(name), &file)?;
        builder.finish()
    }
}

/// Load one `-i` source; returns the directory whose group_vars/ and
/// host_vars/ belong to it.
fn load_source(b: &mut Builder, source: &Path) -> Result<Option<PathBuf>, InputError> {
    if source.is_dir() {
        let mut visited = HashSet::new();
        load_dir(b, source, &mut visited)?;
        return Ok(Some(source.to_path_buf()));
    }
    if source.is_file() {
        load_file(b, source)?;
        let dir = match source.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        return Ok(Some(dir));
    }
    let text = source.to_string_lossy();
    if text.contains(',') {
        b.set_source(None);
        load_host_list(b, &text)?;
        return Ok(None);
    }
    if let Some(why) = crate::source::there_but_unreadable(source) {
        // A loop of links, a dangling link, no permission: there, but not
        // to be read; never "does not exist".
        return Err(InputError::plain(format!(
            "inventory source {} {why}",
            source.display()
        ))
        .with_help(
            "pass a YAML or INI file, a directory of them, or a comma list such as `web1,web2,`",
        ));
    }
    if source.exists() {
        return Err(InputError::plain(format!(
            "inventory source {} is neither a file nor a directory",
            source.display()
        ))
        .with_help(
            "pass a YAML or INI file, a directory of them, or a comma list such as `web1,web2,`",
        ));
    }
    Err(InputError::plain(format!("inventory source {} does not exist", source.display())).with_help(
        "check the path (relative paths start at the current directory); a list of hosts needs a comma: `-i web1,`",
    ))
}

fn load_dir(b: &mut Builder, dir: &Path, visited: &mut HashSet<PathBuf>) -> Result<(), InputError> {
    // Symlinked directories could loop forever.
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(canonical) {
        return Ok(());
    }
    for path in sorted_dir_entries(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if skipped_in_inventory_dir(&name) {
            continue;
        }
        if path.is_dir() {
            load_dir(b, &path, visited)?;
        } else {
            load_file(b, &path)?;
        }
    }
    Ok(())
}

fn load_file(b: &mut Builder, path: &Path) -> Result<(), InputError> {
    let file = SourceFile::read(path)?;
    b.set_source(Some(
        std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    ));
    load_source_file(b, path, &file)
}

fn load_source_file(
    b: &mut Builder,
    path: &Path,
    file: &Arc<SourceFile>,
) -> Result<(), InputError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if file.text.starts_with("#!") {
        return Err(InputError::at(
            &line_origin(file, 1),
            format!("{} looks like a dynamic inventory script", file.display_name()),
            "a script",
        )
        .with_help("baton reads static YAML and INI inventories; save the script's output with `ansible-inventory -i SCRIPT --list -y > inventory.yml`"));
    }
    if file.text.trim_start().starts_with("$ANSIBLE_VAULT;") {
        return Err(vault_file_error(file));
    }
    match extension.as_str() {
        "json" => {
            let root = parse_json_or_yaml(file)?;
            yaml_inventory::load(b, &root)
        }
        "toml" => Err(InputError::at(
            &line_origin(file, 1),
            format!(
                "{} is a TOML inventory, which baton does not read",
                file.display_name()
            ),
            "TOML",
        )
        .with_help("convert it with `ansible-inventory -i FILE --list -y > inventory.yml`")),
        // Like Ansible, which tries its inventory plugins in turn (yaml,
        // then ini), the content decides, not the extension: an INI
        // inventory named `inv.yml` loads as INI.
        _ => load_by_content(b, file, &extension),
    }
}

/// A YAML inventory if the file parses as a YAML mapping that loads as one,
/// else an INI inventory; when neither, one error naming both attempts, each
/// with its line.
fn load_by_content(
    b: &mut Builder,
    file: &Arc<SourceFile>,
    extension: &str,
) -> Result<(), InputError> {
    let yaml_error = match yaml::parse(file) {
        Ok(root) if root.is_null() => return Ok(()),
        Ok(root) => match load_yaml_whole(b, &root) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let ini_error = match ini::load(b, file) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let yaml_first = match extension {
        "yml" | "yaml" => true,
        "" => looks_like_yaml(&file.text),
        _ => false,
    };
    let attempt = |e: &InputError| {
        let line = e
            .location
            .as_deref()
            .and_then(|l| l.rsplit(':').nth(1))
            .map(|n| format!(" (line {n})"))
            .unwrap_or_default();
        format!("{}{line}", e.message)
    };
    let both = format!(
        "{} is neither a YAML nor an INI inventory: as YAML, {}; as INI, {}",
        file.display_name(),
        attempt(&yaml_error),
        attempt(&ini_error)
    );
    let mut primary = if yaml_first { yaml_error } else { ini_error };
    primary.message = both;
    let help = primary.help.take().unwrap_or_else(|| {
        "fix the line of the format the file is meant to be in; YAML: `all: {hosts: {web1: }}`, INI: `[web]` then one host per line".into()
    });
    Err(primary.with_help(help))
}

/// Load a YAML inventory into `b` only if all of it loads, so that a file
/// that is not one leaves `b` as it was for the INI attempt. The file is
/// loaded into a fresh builder first: whether a YAML inventory loads does
/// not depend on what was loaded before it (cycles are checked at the end).
/// That costs the file, where keeping a copy of `b` to restore cost the whole
/// inventory so far, for every file: quadratic in a directory's files (3,000
/// one-group files took 12.6 s). The first file is loaded once.
fn load_yaml_whole(b: &mut Builder, root: &yaml::Node) -> Result<(), InputError> {
    let mut fresh = b.fresh();
    yaml_inventory::load(&mut fresh, root)?;
    if b.is_fresh() {
        *b = fresh;
        return Ok(());
    }
    yaml_inventory::load(b, root)
}

fn load_host_list(b: &mut Builder, list: &str) -> Result<(), InputError> {
    let file = SourceFile::new("inventory list", list.to_string());
    let mut offset = 0;
    for piece in list.split(',') {
        let start = offset;
        offset += piece.len() + 1;
        let name = piece.trim();
        if name.is_empty() {
            continue;
        }
        let lead = piece.len() - piece.trim_start().len();
        let origin = Origin {
            file: Arc::clone(&file),
            offset: start + lead,
            len: name.len(),
        };
        let (host, port) = split_port(name, &origin)?;
        super::ranges::check_host_name(&host, &origin)?;
        b.add_host(&host, UNGROUPED, port);
    }
    Ok(())
}

fn skipped_in_inventory_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(name, "group_vars" | "host_vars" | "vars_plugins")
        || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// Heuristic for an extension-less file that failed both parsers: report the
/// YAML error when the file reads like YAML.
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(line) => line == "---" || line.ends_with(':') || line.contains(": "),
        None => false,
    }
}

//! Playbooks: a list of plays, possibly importing other playbooks.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::bounds::MAX_PLAYBOOK_NESTING;
use crate::error::InputError;
use crate::modules;
use crate::yaml::{self, Node};

use super::expansion::Expansion;
use super::fields::{expect_map, expect_seq, string};
use super::play::{parse_play, Play};
use super::role::RoleLoader;

pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

/// A playbook argument is a path, or a bare name looked up as
/// `playbooks/NAME.yml` (so ops can run `baton run switchover`).
pub fn resolve(arg: &str) -> Result<PathBuf, InputError> {
    let direct = PathBuf::from(arg);
    if direct.is_file() {
        return Ok(direct);
    }
    if direct.is_dir() {
        return Err(
            InputError::plain(format!("playbook {arg} is a directory, not a file"))
                .with_help("give the path of a playbook file inside it"),
        );
    }
    if let Some(why) = crate::source::there_but_unreadable(&direct) {
        return Err(InputError::plain(format!("playbook {arg} {why}"))
            .with_help("give the path of a playbook file; baton reads it whole before running"));
    }
    let mut tried = vec![direct.display().to_string()];
    if !arg.contains('/') {
        let stem = arg.trim_end_matches(".yml").trim_end_matches(".yaml");
        for candidate in [
            format!("playbooks/{stem}.yml"),
            format!("playbooks/{stem}.yaml"),
            format!("{stem}.yml"),
        ] {
            let p = PathBuf::from(&candidate);
            if p.is_file() {
                return Ok(p);
            }
            tried.push(candidate);
        }
    }
    let mut help = format!("looked for: {}", tried.join(", "));
    if let Ok(entries) = std::fs::read_dir("playbooks") {
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.path()
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .collect();
        names.sort();
        if let Some(close) = crate::error::did_you_mean(arg, names.iter().map(String::as_str)) {
            help = format!("did you mean `{close}`? {help}");
        }
        if !names.is_empty() {
            help.push_str(&format!("; playbooks here: {}", names.join(", ")));
        }
    }
    Err(InputError::plain(format!("playbook `{arg}` not found")).with_help(help))
}

pub fn load(path: &Path) -> Result<Playbook, InputError> {
    let mut plays = Vec::new();
    load_into(path, &mut plays, &mut Vec::new(), &Expansion::new()?)?;
    let playbook = Playbook {
        path: path.to_path_buf(),
        plays,
    };
    Ok(playbook)
}

/// Load a playbook held in memory (ad-hoc commands build one); `dir` is where
/// relative paths are taken from.
pub fn load_text(name: &str, text: String, dir: &Path) -> Result<Playbook, InputError> {
    let file = crate::source::SourceFile::new(name, text);
    let root = yaml::parse(&file)?;
    let roles = RoleLoader::new(dir, Expansion::new()?)?;
    let mut plays = Vec::new();
    for entry in expect_seq(&root, "a playbook")? {
        roles.charge(entry)?;
        plays.push(parse_play(entry, dir, &roles)?);
    }
    let playbook = Playbook {
        path: PathBuf::from(name),
        plays,
    };
    Ok(playbook)
}

fn load_into(
    path: &Path,
    plays: &mut Vec<Play>,
    stack: &mut Vec<PathBuf>,
    expansion: &Rc<Expansion>,
) -> Result<(), InputError> {
    let root = expansion.parse_file(path)?;
    if root.is_null() {
        return Err(InputError::at(
            &root.origin,
            format!("playbook {} is empty", path.display()),
            "empty",
        )
        .with_help("a playbook is a list of plays: `- hosts: all` followed by `tasks:`"));
    }
    // Absolute, as Ansible's `playbook_dir` is: tasks run in other directories.
    let dir = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let roles = RoleLoader::new(&dir, Rc::clone(expansion))?;
    let list = expect_seq(&root, "a playbook").map_err(|e| {
        e.with_help("a playbook is a list of plays: start each with `- hosts: ...`")
    })?;
    stack.push(path.to_path_buf());
    for entry in list {
        if let Some(import) = import_playbook_key(entry) {
            roles.charge(entry)?;
            import_playbook(entry, import, &dir, plays, stack, expansion)?;
            continue;
        }
        roles.charge(entry)?;
        plays.push(parse_play(entry, &dir, &roles)?);
    }
    stack.pop();
    Ok(())
}

/// The value of an `import_playbook` entry (also `ansible.builtin.` / `ansible.legacy.`).
fn import_playbook_key(entry: &Node) -> Option<&Node> {
    entry
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_str().map(modules::canonical_name) == Some("import_playbook"))
        .map(|(_, v)| v)
}

fn import_playbook(
    entry: &Node,
    import: &Node,
    dir: &Path,
    plays: &mut Vec<Play>,
    stack: &mut Vec<PathBuf>,
    expansion: &Rc<Expansion>,
) -> Result<(), InputError> {
    if expect_map(entry, "an import")?.len() > 1 {
        return Err(InputError::at(
            &entry.origin,
            "`import_playbook` takes no other keywords here",
            "here",
        )
        .with_help("put `when`, `vars` and `tags` on the plays of the imported playbook"));
    }
    let file = string(import, "import_playbook")?;
    let target = dir.join(&file);
    if !target.is_file() {
        let why = crate::source::not_a_file(&target).unwrap_or_else(|| "does not exist".into());
        return Err(InputError::at(
            &import.origin,
            format!("imported playbook {} {why}", target.display()),
            "imported here",
        )
        .with_help("the path is relative to the importing playbook's directory"));
    }
    if stack.iter().any(|p| p == &target) {
        return Err(InputError::at(
            &import.origin,
            format!("{} imports itself", target.display()),
            "cycle",
        ));
    }
    if stack.len() >= MAX_PLAYBOOK_NESTING {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut chain: Vec<String> = stack
            .iter()
            .chain(std::iter::once(&target))
            .map(|p| p.strip_prefix(&cwd).unwrap_or(p).display().to_string())
            .collect();
        if chain.len() > 10 {
            let left_out = chain.len() - 8;
            let tail = chain.split_off(chain.len() - 4);
            chain.truncate(4);
            chain.push(format!("({left_out} more)"));
            chain.extend(tail);
        }
        return Err(InputError::at(
            &import.origin,
            format!(
                "playbooks import each other more than {MAX_PLAYBOOK_NESTING} levels deep, the most baton allows: {}",
                chain.join(" -> ")
            ),
            "one level too deep",
        )
        .with_help("import the playbooks one after another from one playbook instead of each from the last"));
    }
    load_into(&target, plays, stack, expansion)
}

//! The parts of Ansible's configuration baton reads: `roles_path`, from
//! `ANSIBLE_ROLES_PATH` or the `[defaults]` section of an `ansible.cfg`.
//!
//! Which `ansible.cfg` (ansible-core 2.19 `config/manager.py`
//! `find_ini_config_file`), the first that exists: `$ANSIBLE_CONFIG` (a
//! directory means its `ansible.cfg`), `./ansible.cfg` (unless the current
//! directory is world-writable, which Ansible refuses as a config source),
//! `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. The file is INI as Python's
//! `configparser` reads it: `[section]`, `key = value` or `key: value`,
//! whole-line comments with `#` or `;`, inline comments after ` ;`,
//! indented continuation lines, keys case-blind.
//!
//! `roles_path` (`DEFAULT_ROLES_PATH`, type `pathspec`): `:`-separated;
//! `$VAR` and `~` expanded; a relative entry is taken from the directory of
//! the `ansible.cfg` that sets it, or from the current directory when it
//! comes from `ANSIBLE_ROLES_PATH`. The default is
//! `~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles`
//! (`$ANSIBLE_HOME/roles` first when that is set).

use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::source::{Origin, SourceFile};

/// Where `roles_path` came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolesPathSource {
    Env,
    Config(PathBuf),
    Default,
}

impl std::fmt::Display for RolesPathSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RolesPathSource::Env => f.write_str("ANSIBLE_ROLES_PATH"),
            RolesPathSource::Config(p) => write!(f, "roles_path in {}", p.display()),
            RolesPathSource::Default => f.write_str("Ansible's default roles_path"),
        }
    }
}

/// The configured roles path: directories in order, and where they came from.
#[derive(Clone, Debug)]
pub struct RolesPath {
    pub dirs: Vec<PathBuf>,
    pub source: RolesPathSource,
}

/// What the environment says, gathered once so tests can give their own.
pub struct Environment {
    pub ansible_config: Option<String>,
    pub ansible_roles_path: Option<String>,
    pub ansible_home: Option<String>,
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// `/etc/ansible/ansible.cfg`.
    pub system_config: PathBuf,
}

impl Environment {
    /// The process's environment and current directory.
    pub fn current() -> Environment {
        Environment {
            ansible_config: std::env::var("ANSIBLE_CONFIG").ok(),
            ansible_roles_path: std::env::var("ANSIBLE_ROLES_PATH").ok(),
            ansible_home: std::env::var("ANSIBLE_HOME").ok(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            cwd: std::env::current_dir().ok(),
            system_config: PathBuf::from("/etc/ansible/ansible.cfg"),
        }
    }
}

/// The roles path Ansible would use.
///
/// Errors: an `ansible.cfg` that is not UTF-8 or not INI (naming its line).
pub fn roles_path(env: &Environment) -> Result<RolesPath, InputError> {
    let cwd = env.cwd.clone().unwrap_or_else(|| PathBuf::from("."));
    if let Some(value) = env.ansible_roles_path.as_deref() {
        return Ok(RolesPath {
            dirs: pathspec(value, &cwd, env),
            source: RolesPathSource::Env,
        });
    }
    if let Some(cfg) = find_config(env) {
        let text = std::fs::read(&cfg)
            .map_err(|e| InputError::plain(format!("cannot read {}: {e}", cfg.display())))?;
        let text = String::from_utf8(text).map_err(|e| {
            InputError::plain(format!(
                "{} is not UTF-8 (byte offset {})",
                cfg.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        let file = SourceFile::new(cfg.clone(), text);
        if crate::source::is_private(&cfg) {
            file.mark_private();
        }
        if let Some(value) = ini_value(&file, "defaults", "roles_path")? {
            let base = cfg.parent().map_or_else(|| cwd.clone(), Path::to_path_buf);
            return Ok(RolesPath {
                dirs: pathspec(&value, &base, env),
                source: RolesPathSource::Config(cfg),
            });
        }
    }
    let ansible_home = match (&env.ansible_home, &env.home) {
        (Some(h), _) => Some(expand(h, env)),
        (None, Some(home)) => Some(home.join(".ansible").display().to_string()),
        (None, None) => None,
    };
    let mut dirs: Vec<PathBuf> = ansible_home
        .map(|h| PathBuf::from(h).join("roles"))
        .into_iter()
        .collect();
    dirs.push(PathBuf::from("/usr/share/ansible/roles"));
    dirs.push(PathBuf::from("/etc/ansible/roles"));
    Ok(RolesPath {
        dirs,
        source: RolesPathSource::Default,
    })
}

/// The `ansible.cfg` Ansible would read, if any.
pub fn find_config(env: &Environment) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(c) = &env.ansible_config {
        let p = PathBuf::from(expand(c, env));
        candidates.push(if p.is_dir() { p.join("ansible.cfg") } else { p });
    }
    if let Some(cwd) = &env.cwd {
        if !world_writable(cwd) {
            candidates.push(cwd.join("ansible.cfg"));
        }
    }
    if let Some(home) = &env.home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.push(env.system_config.clone());
    candidates.into_iter().find(|p| p.is_file())
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

/// `:`-separated paths, each expanded and made absolute against `base`.
fn pathspec(value: &str, base: &Path, env: &Environment) -> Vec<PathBuf> {
    value
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = PathBuf::from(expand(p, env));
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        })
        .collect()
}

/// Python's `os.path.expanduser(os.path.expandvars(p))`: `$NAME` and
/// `${NAME}` of set variables, then a leading `~` or `~/`.
fn expand(p: &str, env: &Environment) -> String {
    let mut out = String::new();
    let mut rest = p;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match std::env::var(name).ok().filter(|_| !name.is_empty()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    match (out.strip_prefix('~'), &env.home) {
        (Some(tail), Some(home)) if tail.is_empty() || tail.starts_with('/') => {
            format!("{}{tail}", home.display())
        }
        _ => out,
    }
}

/// One value of an INI file, as `configparser` (with
/// `inline_comment_prefixes=(';',)`) reads it; the last definition wins.
///
/// Errors: a line that is neither a section, an option nor a comment
/// (naming it), an option before any section.
fn ini_value(
    file: &std::sync::Arc<SourceFile>,
    section: &str,
    key: &str,
) -> Result<Option<String>, InputError> {
    let text = &file.text;
    let mut current: Option<String> = None;
    let mut found: Option<String> = None;
    // The option being read, to which indented lines continue.
    let mut open: Option<String> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = strip_inline_comment(line.trim_end_matches(['\n', '\r']));
        let trimmed = body.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.is_empty() {
            open = None;
            continue;
        }
        let indented = body.starts_with([' ', '\t']);
        if indented && open.is_some() {
            if open.as_deref() == Some(key) && current.as_deref() == Some(section) {
                if let Some(v) = &mut found {
                    v.push('\n');
                    v.push_str(trimmed);
                }
            }
            continue;
        }
        let at = || Origin {
            file: std::sync::Arc::clone(file),
            offset: start,
            len: line.trim_end().len().max(1),
        };
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = Some(name.to_string());
            open = None;
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(InputError::at(
                &at(),
                "not an INI line (`key = value`, `[section]` or a comment)",
                "here",
            )
            .with_help("fix this ansible.cfg line; Ansible refuses the file too"));
        };
        if current.is_none() {
            return Err(
                InputError::at(&at(), "an option before any [section]", "here")
                    .with_help("put options under `[defaults]`"),
            );
        }
        let name = trimmed[..split].trim().to_lowercase();
        let value = trimmed[split + 1..].trim().to_string();
        if current.as_deref() == Some(section) && name == key {
            found = Some(value);
        }
        open = Some(name);
    }
    Ok(found)
}

/// Text before an inline `;` comment (one preceded by whitespace).
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path) -> Environment {
        Environment {
            ansible_config: None,
            ansible_roles_path: None,
            ansible_home: None,
            home: Some(dir.join("home")),
            cwd: Some(dir.join("project")),
            system_config: dir.join("etc/ansible.cfg"),
        }
    }

    #[test]
    fn ini_values_as_configparser_reads_them() {
        let file = SourceFile::new(
            "ansible.cfg",
            "# comment\n; comment\n[ssh_connection]\nroles_path = wrong\n[defaults]\nRoles_Path: a:b ; inline\nforks=5\n  continued\n".to_string(),
        );
        assert_eq!(
            ini_value(&file, "defaults", "roles_path")
                .unwrap()
                .as_deref(),
            Some("a:b")
        );
        assert_eq!(
            ini_value(&file, "defaults", "forks").unwrap().as_deref(),
            Some("5\ncontinued")
        );
        assert_eq!(ini_value(&file, "defaults", "inventory").unwrap(), None);
        let bad = SourceFile::new(
            "ansible.cfg",
            "[defaults]\nroles_path = x\nnonsense\n".to_string(),
        );
        let err = ini_value(&bad, "defaults", "roles_path").unwrap_err();
        assert_eq!(err.location.as_deref(), Some("ansible.cfg:3:1"));
    }

    #[test]
    fn env_then_cwd_config_then_home_config_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("home")).unwrap();
        std::fs::create_dir_all(d.join("project")).unwrap();
        std::fs::create_dir_all(d.join("elsewhere")).unwrap();
        let mut e = env(d);

        let got = roles_path(&e).unwrap();
        assert_eq!(got.source, RolesPathSource::Default);
        assert_eq!(got.dirs[0], d.join("home/.ansible/roles"));

        std::fs::write(
            d.join("home/.ansible.cfg"),
            "[defaults]\nroles_path = ~/r1:r2\n",
        )
        .unwrap();
        let got = roles_path(&e).unwrap();
        assert_eq!(
            got.source,
            RolesPathSource::Config(d.join("home/.ansible.cfg"))
        );
        assert_eq!(
            got.dirs,
            [d.join("home/r1"), d.join("home/r2")],
            "relative to the cfg's directory"
        );

        std::fs::write(
            d.join("project/ansible.cfg"),
            "[defaults]\nroles_path = roles:/abs\n",
        )
        .unwrap();
        let got = roles_path(&e).unwrap();
        assert_eq!(got.dirs, [d.join("project/roles"), PathBuf::from("/abs")]);

        // ANSIBLE_CONFIG first; one that does not exist is passed over.
        std::fs::write(
            d.join("elsewhere/ansible.cfg"),
            "[defaults]\nroles_path = here\n",
        )
        .unwrap();
        e.ansible_config = Some(d.join("nowhere.cfg").display().to_string());
        assert_eq!(
            roles_path(&e).unwrap().dirs,
            [d.join("project/roles"), PathBuf::from("/abs")]
        );
        e.ansible_config = Some(d.join("elsewhere").display().to_string());
        assert_eq!(roles_path(&e).unwrap().dirs, [d.join("elsewhere/here")]);

        // ANSIBLE_ROLES_PATH over any file, relative to the current directory.
        e.ansible_roles_path = Some("x:/y".into());
        let got = roles_path(&e).unwrap();
        assert_eq!(got.source, RolesPathSource::Env);
        assert_eq!(got.dirs, [d.join("project/x"), PathBuf::from("/y")]);
    }

    #[test]
    fn a_world_writable_current_directory_is_no_config_source() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("project")).unwrap();
        std::fs::write(
            d.join("project/ansible.cfg"),
            "[defaults]\nroles_path = roles\n",
        )
        .unwrap();
        std::fs::set_permissions(d.join("project"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        assert_eq!(find_config(&env(d)), None);
    }
}

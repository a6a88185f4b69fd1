//! Path filters and file tests. They run on the controller, as in Ansible
//! (templating happens there): `'/etc/x' is file` tests the controller's
//! file system, relative paths are relative to baton's working directory.
//!
//! Source: ansible-core `plugins/filter/core.py` (`path_join`,
//! `commonpath`, `normpath`, `relpath`, `realpath`, `expanduser`,
//! `expandvars`, `fileglob`, `win_*`: Python's `os.path`/`ntpath`/`glob`)
//! and `plugins/test/files.py` (`file`, `directory`, `exists`, `link`,
//! `link_exists`, `abs`, `same_file`, `mount` and their `is_*` names:
//! Python's `os.path.isfile` ... `ismount`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

pub const FILTERS: &[&str] = &[
    "path_join",
    "commonpath",
    "normpath",
    "relpath",
    "realpath",
    "expanduser",
    "expandvars",
    "fileglob",
    "win_basename",
    "win_dirname",
    "win_splitdrive",
];

pub const TESTS: &[&str] = &[
    "file",
    "is_file",
    "directory",
    "is_dir",
    "exists",
    "link",
    "is_link",
    "link_exists",
    "abs",
    "is_abs",
    "same_file",
    "is_same_file",
    "mount",
    "is_mount",
];

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A path argument: a string (Python's `os.path` refuses anything else).
fn path_arg(v: &Value, what: &str) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_string()),
        None => Err(err(format!(
            "{what} expects a path (a string), got {}",
            super::ops::py_type(v)
        ))),
    }
}

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("path_join", path_join);
    env.add_filter("commonpath", commonpath);
    env.add_filter("normpath", |p: Value| {
        path_arg(&p, "normpath").map(|p| normpath(&p))
    });
    env.add_filter(
        "relpath",
        |p: Value, start: Option<Value>| -> Result<String, Error> {
            let p = path_arg(&p, "relpath")?;
            let start = match start {
                Some(s) => path_arg(&s, "relpath")?,
                None => ".".into(),
            };
            relpath(&p, &start)
        },
    );
    env.add_filter("realpath", |p: Value| -> Result<String, Error> {
        realpath(&path_arg(&p, "realpath")?)
    });
    env.add_filter("expanduser", |p: Value| {
        path_arg(&p, "expanduser").map(|p| expanduser(&p))
    });
    env.add_filter("expandvars", |p: Value| {
        path_arg(&p, "expandvars").map(|p| expandvars(&p))
    });
    env.add_filter("fileglob", |p: Value| -> Result<Value, Error> {
        let p = path_arg(&p, "fileglob")?;
        Ok(Value::from(
            glob(&p)
                .into_iter()
                .filter(|f| Path::new(f).is_file())
                .collect::<Vec<_>>(),
        ))
    });
    env.add_filter("win_basename", |p: Value| -> Result<String, Error> {
        Ok(nt_split(&path_arg(&p, "win_basename")?).1)
    });
    env.add_filter("win_dirname", |p: Value| -> Result<String, Error> {
        Ok(nt_split(&path_arg(&p, "win_dirname")?).0)
    });
    env.add_filter("win_splitdrive", |p: Value| -> Result<Value, Error> {
        let p = path_arg(&p, "win_splitdrive")?;
        let (d, rest) = nt_splitdrive(&p);
        Ok(Value::from(vec![Value::from(d), Value::from(rest)]))
    });

    let stat = |p: &str| std::fs::metadata(p).ok();
    let lstat = |p: &str| std::fs::symlink_metadata(p).ok();
    for name in ["file", "is_file"] {
        env.add_test(name, move |p: Value| -> Result<bool, Error> {
            Ok(stat(&path_arg(&p, "file")?).is_some_and(|m| m.is_file()))
        });
    }
    for name in ["directory", "is_dir"] {
        env.add_test(name, move |p: Value| -> Result<bool, Error> {
            Ok(stat(&path_arg(&p, "directory")?).is_some_and(|m| m.is_dir()))
        });
    }
    env.add_test("exists", move |p: Value| -> Result<bool, Error> {
        Ok(stat(&path_arg(&p, "exists")?).is_some())
    });
    for name in ["link", "is_link"] {
        env.add_test(name, move |p: Value| -> Result<bool, Error> {
            Ok(lstat(&path_arg(&p, "link")?).is_some_and(|m| m.file_type().is_symlink()))
        });
    }
    env.add_test("link_exists", move |p: Value| -> Result<bool, Error> {
        Ok(lstat(&path_arg(&p, "link_exists")?).is_some())
    });
    for name in ["abs", "is_abs"] {
        env.add_test(name, |p: Value| -> Result<bool, Error> {
            Ok(path_arg(&p, "abs")?.starts_with('/'))
        });
    }
    for name in ["same_file", "is_same_file"] {
        env.add_test(name, |a: Value, b: Value| -> Result<bool, Error> {
            let meta = |v: &Value| -> Result<std::fs::Metadata, Error> {
                let p = path_arg(v, "same_file")?;
                std::fs::metadata(&p).map_err(|e| err(format!("same_file: cannot stat '{p}': {e}")))
            };
            let (x, y) = (meta(&a)?, meta(&b)?);
            Ok(x.dev() == y.dev() && x.ino() == y.ino())
        });
    }
    for name in ["mount", "is_mount"] {
        env.add_test(name, |p: Value| -> Result<bool, Error> {
            Ok(ismount(&path_arg(&p, "mount")?))
        });
    }
}

/// `path_join`: Python's `os.path.join(*paths)`: an absolute member
/// restarts the path.
fn path_join(paths: Value) -> Result<String, Error> {
    let parts: Vec<String> = match paths.kind() {
        ValueKind::String => vec![paths.as_str().unwrap_or_default().to_string()],
        ValueKind::Seq | ValueKind::Iterable => paths
            .try_iter()?
            .map(|p| path_arg(&p, "path_join"))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(err(format!(
                "|path_join expects string or sequence, got {} instead.",
                super::ops::py_type(&paths)
            )))
        }
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') {
            out = p;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(out)
}

/// Python's `posixpath.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if lead.is_empty() && (parts.is_empty() || parts.last() == Some(&"..")) => {
                parts.push("..")
            }
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let out = format!("{lead}{}", parts.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn abspath(p: &str) -> Result<String, Error> {
    if p.starts_with('/') {
        return Ok(normpath(p));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| err(format!("cannot read the working directory: {e}")))?;
    Ok(normpath(&format!("{}/{p}", cwd.to_string_lossy())))
}

/// Python's `posixpath.relpath(path, start)`.
fn relpath(p: &str, start: &str) -> Result<String, Error> {
    if p.is_empty() {
        return Err(err("no path specified"));
    }
    let a = abspath(start)?;
    let b = abspath(p)?;
    let xs: Vec<&str> = a.split('/').filter(|c| !c.is_empty()).collect();
    let ys: Vec<&str> = b.split('/').filter(|c| !c.is_empty()).collect();
    let common = xs.iter().zip(&ys).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; xs.len() - common];
    parts.extend(&ys[common..]);
    Ok(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// Python's `os.path.realpath`: absolute, symbolic links resolved as far
/// as the path exists, the rest normalised.
fn realpath(p: &str) -> Result<String, Error> {
    let abs = PathBuf::from(abspath(p)?);
    let mut existing = abs.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for c in rest.iter().rev() {
                out.push(c);
            }
            return Ok(normpath(&out.to_string_lossy()));
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return Ok(abs.to_string_lossy().into_owned()),
        }
    }
}

/// Python's `posixpath.commonpath`.
fn commonpath(paths: Value) -> Result<String, Error> {
    if !matches!(paths.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(err(format!(
            "|commonpath expects sequence, got {} instead.",
            super::ops::py_type(&paths)
        )));
    }
    let list: Vec<String> = paths
        .try_iter()?
        .map(|p| path_arg(&p, "commonpath"))
        .collect::<Result<_, _>>()?;
    let Some(first) = list.first() else {
        return Err(err("commonpath() arg is an empty sequence"));
    };
    let abs = first.starts_with('/');
    if list.iter().any(|p| p.starts_with('/') != abs) {
        return Err(err("Can't mix absolute and relative paths"));
    }
    let split = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_string)
            .collect()
    };
    let mut common = split(first);
    for p in &list[1..] {
        let s = split(p);
        let n = common.iter().zip(&s).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    Ok(format!(
        "{}{}",
        if abs { "/" } else { "" },
        common.join("/")
    ))
}

/// Python's `os.path.expanduser`: `~` is `$HOME`, `~user` that user's home
/// directory from /etc/passwd; anything else as it is.
fn expanduser(p: &str) -> String {
    let Some(rest) = p.strip_prefix('~') else {
        return p.to_string();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME").ok()
    } else {
        std::fs::read_to_string("/etc/passwd").ok().and_then(|t| {
            t.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 5 && f[0] == user).then(|| f[5].to_string())
            })
        })
    };
    match home {
        // Python: `(userhome.rstrip('/') + rest) or '/'`
        Some(h) => {
            let out = format!("{}{tail}", h.trim_end_matches('/'));
            if out.is_empty() {
                "/".into()
            } else {
                out
            }
        }
        None => p.to_string(),
    }
}

/// Python's `posixpath.expandvars`: `$name` and `${name}` of set
/// environment variables; others stay.
fn expandvars(p: &str) -> String {
    let mut out = String::new();
    let mut rest = p;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(j) => (&inner[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        match (!name.is_empty())
            .then(|| std::env::var(name).ok())
            .flatten()
        {
            Some(v) => {
                out.push_str(&v);
                rest = &after[consumed..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `fnmatch` for one name: `*`, `?`, `[seq]`, `[!seq]`.
fn fnmatch(pat: &[char], name: &[char]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|i| fnmatch(&pat[1..], &name[i..])),
        Some('?') => !name.is_empty() && fnmatch(&pat[1..], &name[1..]),
        Some('[') => {
            let Some(close) = pat.iter().skip(2).position(|c| *c == ']').map(|p| p + 2) else {
                return name.first() == Some(&'[') && fnmatch(&pat[1..], &name[1..]);
            };
            let Some(&c) = name.first() else { return false };
            let set = &pat[1..close];
            let (negate, set) = match set.first() {
                Some('!') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && fnmatch(&pat[close + 1..], &name[1..])
        }
        Some(c) => name.first() == Some(c) && fnmatch(&pat[1..], &name[1..]),
    }
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Python's `glob.glob(pattern)` (not recursive): names in directory order,
/// hidden names only for a component that starts with `.`.
pub fn glob(pattern: &str) -> Vec<String> {
    let (mut paths, comps): (Vec<String>, Vec<&str>) = if let Some(r) = pattern.strip_prefix('/') {
        (vec!["/".into()], r.split('/').collect())
    } else {
        (vec![String::new()], pattern.split('/').collect())
    };
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for base in &paths {
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_string()
                } else if base.ends_with('/') {
                    format!("{base}{name}")
                } else {
                    format!("{base}/{name}")
                }
            };
            if comp.is_empty() {
                if !last {
                    next.push(base.clone());
                }
                continue;
            }
            if !has_magic(comp) {
                let p = join(comp);
                if std::fs::symlink_metadata(&p).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let dir = if base.is_empty() { "." } else { base.as_str() };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let pat: Vec<char> = comp.chars().collect();
            for e in rd.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && !comp.starts_with('.') {
                    continue;
                }
                let chars: Vec<char> = name.chars().collect();
                if fnmatch(&pat, &chars) && (last || e.path().is_dir()) {
                    next.push(join(&name));
                }
            }
        }
        paths = next;
    }
    paths
}

/// Python 3.11's `ntpath.splitdrive`.
fn nt_splitdrive(p: &str) -> (String, String) {
    let norm = p.replace('/', "\\");
    if norm.starts_with("\\\\") && norm.len() >= 2 {
        let Some(i) = norm[2..].find('\\').map(|i| i + 2) else {
            return (String::new(), p.to_string());
        };
        let j = norm[i + 1..].find('\\').map_or(p.len(), |j| j + i + 1);
        return (p[..j].to_string(), p[j..].to_string());
    }
    if norm.get(1..2) == Some(":") {
        return (p[..2].to_string(), p[2..].to_string());
    }
    (String::new(), p.to_string())
}

/// Python 3.11's `ntpath.split`: (dirname, basename).
fn nt_split(p: &str) -> (String, String) {
    let (d, rest) = nt_splitdrive(p);
    let cut = rest.rfind(['\\', '/']).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(cut);
    let trimmed = head.trim_end_matches(['\\', '/']);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{d}{head}"), tail.to_string())
}

/// Python's `os.path.ismount`.
fn ismount(p: &str) -> bool {
    let Ok(m) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if m.file_type().is_symlink() {
        return false;
    }
    let parent = Path::new(p).join("..");
    let Ok(pm) = std::fs::symlink_metadata(&parent) else {
        return false;
    };
    m.dev() != pm.dev() || m.ino() == pm.ino()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plan::jinja::eval_py as eval;

    /// Expected values: what ansible-core 2.19 (Python 3.11) printed.
    #[test]
    fn path_filters_as_python() {
        for (e, want) in [
            ("['/etc', 'a', 'b'] | path_join", "/etc/a/b"),
            ("['/etc', '/a', 'b'] | path_join", "/a/b"),
            ("'x' | path_join", "x"),
            ("['/usr/lib', '/usr/local/lib'] | commonpath", "/usr"),
            ("'/a/b/../c/./d/' | normpath", "/a/c/d"),
            ("'a//b' | normpath", "a/b"),
            ("'' | normpath", "."),
            ("'../a/../../b' | normpath", "../../b"),
            ("'/etc/hvr/x.conf' | relpath('/etc')", "hvr/x.conf"),
            ("'/' | realpath", "/"),
            ("'C:\\\\Users\\\\x\\\\f.txt' | win_basename", "f.txt"),
            ("'C:\\\\Users\\\\x\\\\f.txt' | win_dirname", "C:\\Users\\x"),
            (
                "'C:\\\\Users\\\\x\\\\f.txt' | win_splitdrive",
                "['C:', '\\\\Users\\\\x\\\\f.txt']",
            ),
        ] {
            assert_eq!(eval(e), want, "{e}");
        }
        assert!(eval("['/a', 'b'] | commonpath").contains("Can't mix"));
        std::env::set_var("BATON_J8A_X", "v");
        assert_eq!(
            expandvars("$BATON_J8A_X/${BATON_J8A_X}/$NOPE_J8A/$"),
            "v/v/$NOPE_J8A/$"
        );
        assert_eq!(expanduser("nothome"), "nothome");
    }

    #[test]
    fn file_tests_and_glob_on_the_controller() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        std::fs::write(format!("{d}/a.txt"), "x").unwrap();
        std::fs::write(format!("{d}/b.txt"), "x").unwrap();
        std::fs::write(format!("{d}/.h.txt"), "x").unwrap();
        std::fs::create_dir(format!("{d}/sub")).unwrap();
        std::os::unix::fs::symlink(format!("{d}/a.txt"), format!("{d}/ln")).unwrap();
        std::os::unix::fs::symlink(format!("{d}/gone"), format!("{d}/dangling")).unwrap();
        let t = |e: String| eval(&e);
        assert_eq!(
            t(format!("'{d}/a.txt' is file and '{d}/sub' is directory")),
            "True"
        );
        assert_eq!(
            t(format!(
                "'{d}/sub' is file or '{d}/a.txt' is ansible.builtin.directory"
            )),
            "False"
        );
        assert_eq!(
            t(format!(
                "'{d}/ln' is link and '{d}/ln' is exists and '{d}/a.txt' is not link"
            )),
            "True"
        );
        assert_eq!(
            t(format!(
                "'{d}/dangling' is link_exists and '{d}/dangling' is not exists"
            )),
            "True"
        );
        assert_eq!(t(format!("'{d}' is abs and 'rel/x' is not abs")), "True");
        assert_eq!(t(format!("'{d}/ln' is same_file('{d}/a.txt')")), "True");
        assert_eq!(t("'/' is mount".into()), "True");
        let mut g = glob(&format!("{d}/*.txt"));
        g.sort();
        assert_eq!(g, vec![format!("{d}/a.txt"), format!("{d}/b.txt")]);
        assert_eq!(glob(&format!("{d}/s?b")), vec![format!("{d}/sub")]);
        assert_eq!(t(format!("'{d}/*' | fileglob | length")), "3");
    }
}

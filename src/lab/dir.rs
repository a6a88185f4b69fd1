//! The lab directory (`--dir`): where it is, creating it, and locking it so two
//! lab commands never work on the same lab at once.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};

use super::LabError;

/// Parent of the default lab directories; a lab lives in `DEFAULT_ROOT/PREFIX`.
pub const DEFAULT_ROOT: &str = "/var/lib/baton-lab";

/// `--dir` made absolute (artifacts name it in paths), or the default for the prefix.
pub fn resolve(dir: Option<&Path>, prefix: &str) -> Result<PathBuf, LabError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => Path::new(DEFAULT_ROOT).join(prefix),
    };
    let absolute = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()
            .map_err(|e| LabError::Failed(format!("cannot read the current directory: {e}")))?
            .join(dir)
    };
    Ok(normalize(&absolute))
}

/// Drop `.` and resolve `..` lexically (the directory may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `mkdir -p`, returning the directories it created, outermost first.
pub fn create_recording(dir: &Path) -> Result<Vec<PathBuf>, LabError> {
    let mut missing = Vec::new();
    let mut p = Some(dir);
    while let Some(d) = p {
        if d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        p = d.parent();
    }
    missing.reverse();
    for d in &missing {
        std::fs::create_dir(d)
            .map_err(|e| LabError::Failed(format!("cannot create {}: {e}", d.display())))?;
    }
    if !dir.is_dir() {
        return Err(LabError::Precondition(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    Ok(missing)
}

/// Remove directories (innermost first) that are empty; others are left alone.
pub fn remove_if_empty(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        // Fails, harmlessly, when something else lives there.
        let _ = std::fs::remove_dir(d);
    }
}

/// An exclusive lock on the lab directory, held until dropped.
pub struct DirLock {
    _file: File,
}

pub fn lock(dir: &Path) -> Result<DirLock, LabError> {
    let file = File::open(dir)
        .map_err(|e| LabError::Failed(format!("cannot open {}: {e}", dir.display())))?;
    // SAFETY: flock on a descriptor we own; blocks until another lab command on this dir ends.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    if rc != 0 {
        return Err(LabError::Failed(format!(
            "cannot lock {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(DirLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_follows_the_prefix_and_relative_dirs_become_absolute() {
        assert_eq!(
            resolve(None, "baton").unwrap(),
            PathBuf::from("/var/lib/baton-lab/baton")
        );
        assert_eq!(
            resolve(Some(Path::new("/a/./b/../c")), "x").unwrap(),
            PathBuf::from("/a/c")
        );
        let rel = resolve(Some(Path::new("lab")), "x").unwrap();
        assert!(rel.is_absolute() && rel.ends_with("lab"));
    }

    #[test]
    fn created_dirs_are_recorded_and_removed_only_when_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        let created = create_recording(&deep).unwrap();
        assert_eq!(
            created,
            vec![tmp.path().join("a"), tmp.path().join("a/b"), deep.clone()]
        );
        assert!(create_recording(&deep).unwrap().is_empty());
        std::fs::write(tmp.path().join("a/keep"), "").unwrap();
        remove_if_empty(&created);
        assert!(!tmp.path().join("a/b").exists());
        assert!(tmp.path().join("a/keep").exists(), "a non-empty dir stays");
    }
}

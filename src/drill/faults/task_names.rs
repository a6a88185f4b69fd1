//! The task names of the playbook content, read as text before the lab is
//! built: an `--at TEXT` that no task name contains is refused before any
//! case runs (a typo would otherwise cost a lab and a whole run per fault,
//! each reported "beyond the run").

use std::path::Path;

/// The `--at` texts that no task name of `playbooks` (the directory of
/// `--playbooks`) or of the `roles` beside it contains, as written or as a
/// run prints a role's task (`ROLE : NAME`). Names are matched as written:
/// a templated name (`{{ ... }}`) is not rendered.
///
/// Errors: a directory or file that cannot be read, named.
pub fn unmatched(playbooks: &Path, at: &[String]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    collect(playbooks, None, &mut names)?;
    if let Some(roles) = playbooks.parent().map(|p| p.join("roles")) {
        if roles.is_dir() {
            for entry in read_dir(&roles)? {
                if entry.is_dir() {
                    let role = entry
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    collect(&entry, Some(&role), &mut names)?;
                }
            }
        }
    }
    Ok(at
        .iter()
        .filter(|t| !names.iter().any(|n| n.contains(t.as_str())))
        .cloned()
        .collect())
}

fn read_dir(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut out: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    out.sort();
    Ok(out)
}

/// The `name:` values of every YAML file under `dir`, recursively.
fn collect(dir: &Path, role: Option<&str>, names: &mut Vec<String>) -> Result<(), String> {
    for path in read_dir(dir)? {
        if path.is_dir() {
            collect(&path, role, names)?;
            continue;
        }
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for name in text.lines().filter_map(name_of) {
            if let Some(role) = role {
                names.push(format!("{role} : {name}"));
            }
            names.push(name);
        }
    }
    Ok(())
}

/// The value of a `name:` line (a task's, or any mapping's: more names only
/// make the check more lenient), without its quotes.
fn name_of(line: &str) -> Option<String> {
    let line = line.trim_start();
    let line = line.strip_prefix("- ").map_or(line, str::trim_start);
    let value = line.strip_prefix("name:")?.trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some(unquoted.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_read_from_a_task_line_with_or_without_quotes() {
        assert_eq!(
            name_of("  - name: Stop | flush").as_deref(),
            Some("Stop | flush")
        );
        assert_eq!(name_of("    name: 'a b'").as_deref(), Some("a b"));
        assert_eq!(name_of(r#"- name: "x: y""#).as_deref(), Some("x: y"));
        assert_eq!(name_of("    rn_active_name: x"), None);
        assert_eq!(name_of("    hosts: all"), None);
    }

    #[test]
    fn the_content_of_this_checkout_knows_its_tasks_and_not_a_typo() {
        let playbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
        let at = [
            "Stop | flush".to_string(),
            "hvr_common : Lock | one operation at a time".to_string(),
            "Recover | hvrrefresh".to_string(),
            "zzz nomatch".to_string(),
        ];
        assert_eq!(unmatched(&playbooks, &at).unwrap(), vec!["zzz nomatch"]);
    }

    #[test]
    fn a_missing_playbook_directory_is_named() {
        let err = unmatched(Path::new("/nonexistent/playbooks"), &["x".into()]).unwrap_err();
        assert!(err.contains("/nonexistent/playbooks"), "{err}");
    }
}

//! Small file helpers: atomic replacement and key=value state files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Context, SimResult};

/// Replaces `path` with `contents` so readers see either the old or the new file, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8]) -> SimResult<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_data()?;
        fs::rename(&tmp, path)
    };
    write()
        .inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
        .context(|| format!("writing {}", path.display()))
}

/// Parses `key=value` lines; blank lines and `#` comments are skipped.
pub fn parse_key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected key=value, found {line:?}", number + 1))?;
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// Reads a state file of unique `key=value` lines; `None` when the file does not exist.
pub fn read_state(path: &Path) -> SimResult<Option<BTreeMap<String, String>>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let pairs = parse_key_values(&text)
        .map_err(|e| crate::error::SimError::failed(format!("{}: {e}", path.display())))?;
    Ok(Some(pairs.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_skip_comments_and_report_bad_lines() {
        let parsed = parse_key_values("# note\nnode = 10.0.0.1\n\nport=4343\n").unwrap();
        assert_eq!(
            parsed,
            vec![
                ("node".to_string(), "10.0.0.1".to_string()),
                ("port".to_string(), "4343".to_string())
            ]
        );
        let err = parse_key_values("node=a\nbogus\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}

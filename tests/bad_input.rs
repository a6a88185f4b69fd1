//! The bad-input corpus: every file under tests/bad_input/ is a malformed
//! playbook whose header says what baton must answer:
//!
//! ```text
//! # expect: <text the error message must contain>
//! # help: <text the help line must contain>        (optional)
//! # at: <line the diagnostic must point at>        (optional)
//! ```
//!
//! Each must exit 4 (invalid input), name the file, and never panic.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

struct Case {
    path: PathBuf,
    expect: String,
    help: Option<String>,
    line: Option<usize>,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad_input exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable case");
            let header = |key: &str| {
                text.lines()
                    .filter_map(|l| l.strip_prefix("# "))
                    .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            };
            Case {
                expect: header("expect:")
                    .unwrap_or_else(|| panic!("{} has no `# expect:` header", path.display())),
                help: header("help:"),
                line: header("at:").map(|l| l.parse().expect("`# at:` is a line number")),
                path,
            }
        })
        .collect()
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 30,
        "the corpus must hold at least 30 cases"
    );
}

#[test]
fn every_malformed_playbook_is_refused_clearly() {
    let mut failures = Vec::new();
    for case in cases() {
        let output = Command::cargo_bin("baton")
            .expect("binary built")
            .arg("run")
            .arg(&case.path)
            .env("NO_COLOR", "1")
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .expect("baton runs");
        // miette wraps long lines; compare on text with the wrapping undone.
        let stderr: String = String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(|l| l.trim_start_matches([' ', '|', '│']).trim_end())
            .collect::<Vec<_>>()
            .join(" ");
        let name = case
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let mut problems = Vec::new();
        if output.status.code() != Some(4) {
            problems.push(format!("exit code {:?}, want 4", output.status.code()));
        }
        if !stderr.contains(&case.expect) {
            problems.push(format!("message lacks `{}`", case.expect));
        }
        if let Some(help) = &case.help {
            if !stderr.contains(help.as_str()) {
                problems.push(format!("help lacks `{help}`"));
            }
        }
        if let Some(line) = case.line {
            let place = format!("{name}:{line}:");
            if !stderr.contains(&place) {
                problems.push(format!("does not point at `{place}`"));
            }
        } else if !stderr.contains(&name) {
            problems.push("does not name the file".into());
        }
        if stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n--- stderr ---\n{stderr}",
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

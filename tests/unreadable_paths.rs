//! A path that is there but cannot be read as a file (a loop of links, a
//! dangling link, a device) is named for what it is, never as "not found":
//! "not found" sends the user looking for a file that is there.

use std::os::unix::fs::symlink;
use std::path::Path;

use assert_cmd::Command;

fn run(dir: &Path, playbook: &str) -> (Option<i32>, String) {
    let out = Command::cargo_bin("baton")
        .unwrap()
        .current_dir(dir)
        .args(["run", playbook, "-i", "localhost,", "-c", "local"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The text without miette's wrapping at 80 columns (its `|` margins and
/// line breaks), to compare a long message whole.
fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_playbook_that_is_a_loop_of_links_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    symlink("p.yml", dir.path().join("p.yml")).unwrap();
    let (code, text) = run(dir.path(), "p.yml");
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("loop of symbolic links"), "{text}");
    assert!(!text.contains("not found"), "{text}");
}

#[test]
fn an_inventory_source_that_is_a_loop_or_dangling_link_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), "- hosts: all\n  tasks: []\n").unwrap();
    symlink("loop", dir.path().join("loop")).unwrap();
    symlink("gone.ini", dir.path().join("dangling")).unwrap();
    for (source, want) in [
        ("loop", "inventory source loop is a loop of symbolic links"),
        (
            "dangling",
            "inventory source dangling is a symbolic link to gone.ini, which does not exist",
        ),
    ] {
        let out = Command::cargo_bin("baton")
            .unwrap()
            .current_dir(dir.path())
            .args(["run", "p.yml", "-i", source])
            .output()
            .unwrap();
        let text = flat(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(4), "{text}");
        assert!(text.contains(want), "{text}");
    }
}

#[test]
fn a_vars_file_that_is_a_dangling_link_names_its_target() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/nonexistent/baton-vars.yml", dir.path().join("v.yml")).unwrap();
    std::fs::write(
        dir.path().join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [v.yml]\n  tasks: []\n",
    )
    .unwrap();
    let (code, text) = run(dir.path(), "p.yml");
    assert_eq!(code, Some(4), "{text}");
    assert!(
        flat(&text)
            .contains("is a symbolic link to /nonexistent/baton- vars.yml, which does not exist"),
        "{text}"
    );
}

#[test]
fn a_device_as_copy_src_or_file_lookup_is_refused_as_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    std::fs::write(
        dir.path().join("p.yml"),
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {{src: /dev/zero, dest: {0}}}\n      ignore_errors: true\n    - debug: {{msg: \"{{{{ lookup('file', '/dev/zero') }}}}\"}}\n",
            dest.display()
        ),
    )
    .unwrap();
    let (code, text) = run(dir.path(), "p.yml");
    // The failed template is invalid input (exit 4), as any template error.
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.contains("src /dev/zero is a device, not a regular file"),
        "{text}"
    );
    assert!(
        text.contains("lookup('file'): /dev/zero is a device, not a regular file"),
        "{text}"
    );
    assert!(!dest.exists());
}

#[test]
fn a_role_whose_tasks_file_is_a_directory_is_refused_not_run_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("roles/r/tasks/main.yml")).unwrap();
    std::fs::create_dir_all(dir.path().join("roles/q/vars/main")).unwrap();
    std::fs::create_dir_all(dir.path().join("roles/q/tasks")).unwrap();
    std::fs::write(dir.path().join("roles/q/vars/main/a.yml"), "x: 1\n").unwrap();
    std::fs::write(
        dir.path().join("roles/q/tasks/main.yml"),
        "- debug: {msg: hi}\n",
    )
    .unwrap();
    for (role, want) in [
        ("r", "roles/r/tasks/main.yml is a directory, not a file"),
        ("q", "roles/q/vars/main is a directory, not a file"),
    ] {
        std::fs::write(
            dir.path().join("p.yml"),
            format!("- hosts: localhost\n  gather_facts: false\n  roles: [{role}]\n"),
        )
        .unwrap();
        let (code, text) = run(dir.path(), "p.yml");
        assert_eq!(code, Some(4), "{text}");
        assert!(flat(&text).contains(want), "{text}");
    }
}

#[test]
fn an_extra_vars_file_over_the_size_cap_is_refused_unread_naming_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yml");
    // Sparse: 65 MiB on paper, nothing on disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    std::fs::write(
        dir.path().join("p.yml"),
        "- hosts: localhost\n  gather_facts: false\n  tasks: []\n",
    )
    .unwrap();
    let out = Command::cargo_bin("baton")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "run",
            "p.yml",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "@big.yml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("big.yml is 65 MiB; baton reads"), "{text}");
}

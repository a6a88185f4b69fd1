//! sim/package.sh: a reproducible tarball that installs like an HVR distribution.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!("hvrsim-pkg-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn package(out: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("package.sh");
    let output = Command::new(script)
        .arg(out)
        .args(["--binary", env!("CARGO_BIN_EXE_hvrsim")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("hvr-simulator-{}.tar.gz", env!("CARGO_PKG_VERSION"))
    );
    path
}

#[test]
fn tarball_is_reproducible_and_installs_like_hvr() {
    let tmp = TempDir::new("repro");
    let first = package(&tmp.0.join("one"));
    let second = package(&tmp.0.join("two"));
    assert_eq!(
        fs::read(&first).unwrap(),
        fs::read(&second).unwrap(),
        "same input, different bytes"
    );

    let listing = Command::new("tar")
        .arg("-tvzf")
        .arg(&first)
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "not owned by 0/0: {line}");
        assert!(line.contains("1970-01-01 00:00"), "mtime not fixed: {line}");
    }
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries not sorted");
    for expected in [
        "bin/hvrsim",
        "bin/hvrscheduler",
        "bin/ingstop",
        "lib/README.SIMULATOR",
        "VERSION",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(listing.contains("bin/hvrcompare -> hvrsim"));

    let home = tmp.0.join("hvr_home");
    fs::create_dir_all(&home).unwrap();
    let unpacked = Command::new("tar")
        .arg("-xzf")
        .arg(&first)
        .arg("-C")
        .arg(&home)
        .status()
        .unwrap();
    assert!(unpacked.success());
    let version = fs::read_to_string(home.join("VERSION")).unwrap();
    assert_eq!(
        version,
        format!("hvr-simulator {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(home.join("bin/hvrtestlistener"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("HVR simulator"));
    let readme = fs::read_to_string(home.join("lib/README.SIMULATOR")).unwrap();
    assert!(readme.contains("This is not HVR"));
}

//! Replays the saved fuzz corpus (`fuzz/corpus/`) as ordinary tests, so CI
//! keeps every input the fuzzers (`fuzz/`, run by hand on nightly) were
//! seeded with or found: loading, compiling and rendering must return, never
//! panic. A panic fails the test and names the file.

use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "{}: the corpus is too small",
        dir.display()
    );
    files
}

fn replay(kind: &str, one: fn(&str)) {
    for path in corpus(kind) {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let text = text.to_string();
        if std::panic::catch_unwind(|| one(&text)).is_err() {
            panic!("{} panicked", path.display());
        }
    }
}

#[test]
fn the_playbook_corpus_loads_and_compiles_without_panic() {
    replay("playbook", |text| {
        let loaded = baton::load::playbook::load_text("fuzz.yml", text.to_string(), Path::new("."));
        if let Ok(playbook) = loaded {
            let _ = baton::plan::compile::check_playbook(&playbook);
        }
    });
}

#[test]
fn the_template_corpus_checks_and_renders_without_panic() {
    replay("template", |text| {
        let origin = baton::source::Origin::synthetic("fuzz", text);
        if baton::plan::template::check_template(text, &origin).is_ok() {
            let vars = serde_json::json!({"a": 1, "b": [1, "x"], "c": {"d": true}});
            let _ = baton::plan::template::Templater::new().render_str(text, &vars, &origin);
        }
    });
}

//! Data flows one way: `cli -> load -> plan -> execute -> modules ->
//! transport`, with `report` fed by the executor, and a base layer (`yaml`,
//! `error`, `source`, `shell`, `template_text`, `bounds`, `pyregex`) below every stage.
//!
//! This test reads every `.rs` file under `src/`, finds each reference to
//! another top-level module (`use crate::x::...`, `use crate::{x, y::z}`,
//! and inline paths such as `crate::x::f(...)`; `baton::x` in `main.rs`), and
//! fails on any that [`ALLOWED`] does not list, naming the file, the line and
//! the import. A new top-level module must be added to the table.
//!
//! Not seen: references inside comments (not code), and `super::super::...`
//! chains; in this code base `super::` never leaves a top-level module, so
//! only `crate::` paths cross stages.

use std::path::{Path, PathBuf};

/// For every top-level module of the crate, the top-level modules it may
/// import. The one place the stage order is written down; `src/lib.rs`
/// describes the same order.
const ALLOWED: &[(&str, &[&str])] = &[
    // The binary only calls the command line.
    ("main", &["cli"]),
    // lib.rs only declares the modules.
    ("lib", &[]),
    // The command line drives every stage (and `baton lab`, `baton modules`).
    (
        "cli",
        &[
            "load",
            "plan",
            "execute",
            "modules",
            "transport",
            "report",
            "lab",
            "yaml",
            "bounds",
            "error",
            "source",
            "shell",
            "template_text",
            "pyregex",
        ],
    ),
    // The loader checks module names and arguments against `ModuleSpec`s
    // (so a typo fails before anything runs); it never renders templates.
    (
        "load",
        &[
            "modules",
            "yaml",
            "bounds",
            "error",
            "source",
            "template_text",
        ],
    ),
    // Variables and templates over what the loader produced. (`quote` for the
    // shell-quoting template helper comes from `shell`, not from modules.)
    (
        "plan",
        &[
            "load",
            "yaml",
            "error",
            "source",
            "shell",
            "template_text",
            "pyregex",
        ],
    ),
    // The executor runs plans through modules over transports and emits
    // report events.
    (
        "execute",
        &[
            "load",
            "plan",
            "modules",
            "transport",
            "report",
            "yaml",
            "bounds",
            "error",
            "source",
            "shell",
            "template_text",
            "pyregex",
        ],
    ),
    // Modules build scripts and read their answers (`transport::ExecOutput`);
    // they know nothing of execute, load, plan or report.
    (
        "modules",
        &["transport", "bounds", "error", "source", "shell", "pyregex"],
    ),
    // Transport moves scripts; it knows nothing of modules or any stage above.
    ("transport", &["error", "source", "shell"]),
    // Reporters show `modules::TaskResult` / `Status` and use the module
    // registry for names (`canonical_name`, check-mode skips).
    ("report", &["modules", "error", "source"]),
    // The lab builds namespaces and sshd; it shares only the base layer
    // (quoting from `shell`, its inventory through `yaml`).
    ("lab", &["yaml", "error", "source", "shell"]),
    // The base layer: below every stage, never importing one.
    ("yaml", &["error", "source"]),
    ("error", &["source"]),
    ("source", &[]),
    ("shell", &[]),
    ("template_text", &[]),
    // Bounds on durations and counts, shared by load, execute, modules, cli.
    ("bounds", &[]),
    // Python-dialect regexes, shared by plan (filters, tests) and modules (lineinfile).
    ("pyregex", &[]),
];

/// One reference from a file to another top-level module.
#[derive(Debug)]
struct Reference {
    line: usize,
    target: String,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/load/args.rs` -> `load`, `src/yaml.rs` -> `yaml`.
fn top_level(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    let first = first.to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every top-level module named after `root::` in `text` (comments removed),
/// with its line: `root::x`, and each head of a `root::{x, y::z}` group
/// (groups may span lines and nest).
fn references(text: &str, root: &str) -> Vec<Reference> {
    let lines: Vec<&str> = text.lines().collect();
    // Code only: cut each line at `//` (doc comments and comments mention
    // paths without importing them).
    let code: Vec<&str> = lines
        .iter()
        .map(|l| l.find("//").map_or(*l, |i| &l[..i]))
        .collect();
    let mut joined = String::new();
    let mut line_of = Vec::new();
    for (n, l) in code.iter().enumerate() {
        joined.push_str(l);
        joined.push('\n');
        line_of.extend(std::iter::repeat_n(n, l.len() + 1));
    }
    let needle = format!("{root}::");
    let bytes = joined.as_bytes();
    let mut found = Vec::new();
    let mut push = |at: usize, name: &str| {
        let line = line_of[at];
        found.push(Reference {
            line: line + 1,
            target: name.to_string(),
            text: lines[line].trim().to_string(),
        });
    };
    let mut start = 0;
    while let Some(i) = joined[start..].find(&needle) {
        let at = start + i;
        start = at + needle.len();
        if at > 0 && is_ident(bytes[at - 1] as char) {
            continue; // `mycrate::`, not `crate::`
        }
        let rest = &joined[start..];
        if rest.starts_with('{') {
            // Heads of a (possibly nested) group: after `{` or `,` at depth 1.
            let mut depth = 0;
            let mut expect_head = false;
            let mut k = start;
            while k < joined.len() {
                let c = bytes[k] as char;
                match c {
                    '{' => {
                        depth += 1;
                        expect_head = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_head = true,
                    c if expect_head && is_ident(c) => {
                        let end = joined[k..]
                            .find(|c: char| !is_ident(c))
                            .map_or(joined.len(), |e| k + e);
                        push(k, &joined[k..end]);
                        expect_head = false;
                        k = end;
                        continue;
                    }
                    _ => {}
                }
                k += 1;
            }
        } else {
            let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            if end > 0 {
                push(at, &rest[..end]);
            }
        }
    }
    found
}

/// Every import against the table, as one message per offence.
fn offences(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let module = top_level(src, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(src.parent().unwrap()).unwrap().display();
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            out.push(format!(
                "{shown}: top-level module `{module}` is not in tests/stage_order.rs's ALLOWED table; add it with what it may import"
            ));
            continue;
        };
        let root = if module == "main" { "baton" } else { "crate" };
        for r in references(&text, root) {
            if r.target == module || allowed.contains(&r.target.as_str()) {
                continue;
            }
            out.push(format!(
                "{shown}:{}: `{module}` imports `{root}::{}` against the stage order: `{}`\n    `{module}` may import only: {}",
                r.line,
                r.target,
                r.text,
                if allowed.is_empty() { "nothing".to_string() } else { allowed.join(", ") },
            ));
        }
    }
    out
}

#[test]
fn every_import_follows_the_stage_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let offences = offences(&src);
    assert!(
        offences.is_empty(),
        "{} import(s) against the flow (see ALLOWED in tests/stage_order.rs):\n{}",
        offences.len(),
        offences.join("\n")
    );
}

#[test]
fn the_scanner_sees_use_lines_groups_and_inline_paths() {
    let text = "use crate::yaml::Node;\n\
                use crate::{error::InputError, modules::{self, Status}};\n\
                use crate::{\n    plan,\n    report::Event,\n};\n\
                // use crate::lab; (a comment, not an import)\n\
                fn f() { crate::template_text::is_template(\"x\"); mycrate::no(); }\n";
    let found: Vec<(usize, String)> = references(text, "crate")
        .into_iter()
        .map(|r| (r.line, r.target))
        .collect();
    let expect: Vec<(usize, String)> = [
        (1, "yaml"),
        (2, "error"),
        (2, "modules"),
        (4, "plan"),
        (5, "report"),
        (8, "template_text"),
    ]
    .into_iter()
    .map(|(l, t)| (l, t.to_string()))
    .collect();
    assert_eq!(found, expect);
}

#[test]
fn the_table_names_every_top_level_module_once() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules: Vec<String> = files.iter().map(|f| top_level(&src, f)).collect();
    modules.sort();
    modules.dedup();
    let mut table: Vec<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    table.sort();
    let before = table.len();
    table.dedup();
    assert_eq!(before, table.len(), "a module appears twice in ALLOWED");
    assert_eq!(
        modules, table,
        "ALLOWED must list exactly src/'s top-level modules"
    );
    for (m, allowed) in ALLOWED {
        for a in *allowed {
            assert!(
                table.contains(a),
                "`{m}` may import `{a}`, which does not exist"
            );
        }
    }
}

//! Data flows one way: `cli -> load -> plan -> execute -> modules ->
//! transport`, with `report` fed by the executor, and a base layer (`yaml`,
//! `error`, `source`, `controls`, `shell`, `template_text`, `bounds`, `pyregex`, `pyformat`) below every stage.
//!
//! This test parses every `.rs` file under `src/` with `syn` (tokens, so
//! comments and strings never count) and fails on any reference from one
//! top-level module (a stage) to another that [`ALLOWED`] does not list,
//! naming the file, the line, the path and what the stage may import. A new
//! top-level module must be added to the table.
//!
//! What counts as a reference, and what is refused outright:
//! - every `use` tree and every path (types, expressions, patterns, trait
//!   bounds, attribute arguments) that reaches the crate root: `crate::x`,
//!   `super::...` chains resolved against the file's module path (inline
//!   `mod`s included), `self::x` and bare `x::` in the crate root, and any
//!   name bound to the crate root anywhere in the crate (`use crate as c`,
//!   `use crate::{self as c}`, `extern crate self as x`, `use baton as b`;
//!   `baton` itself always counts), wherever it appears in a path;
//! - the tokens of every macro invocation and `macro_rules!` body: the same
//!   paths, plus `$crate::x`; a path whose stage a macro fills in
//!   (`crate::$m::...`) and a bare `crate`/`super`/crate-root alias handed
//!   to a macro cannot be checked, so they are refused;
//! - an invocation of a `macro_rules!` macro defined in a stage this one may
//!   not import;
//! - a glob of the crate root (`use crate::*`, `use super::*` at depth one):
//!   it imports every stage;
//! - a re-export (`pub`, `pub(crate)`, ...) of another stage's module as a
//!   whole, of a glob of it, or of the crate root: it would make the
//!   re-exporting module a conduit (`pub use crate::transport as wire;`).
//!   Re-exported items (`pub use crate::x::Item`) are checked as imports of
//!   `x` by the re-exporter; whoever imports the re-exporter gets the item;
//! - `#[path]` (also inside `cfg_attr` or a macro) and `include!` that reach
//!   a file outside the stage's own directory (`src/<stage>/`), or that are
//!   not literals; and, where either is used, `super::` chains are checked
//!   as if they might reach the crate root (the file's module depth is then
//!   not its path's);
//! - `mod x;` in `main.rs` (it would compile `src/x.rs` a second time,
//!   inside the binary).
//!
//! `main.rs` is its own crate: its `crate::x` is checked like the library's
//! (conservative: main has no modules of its own).

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use syn::visit::{self, Visit};

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
            "drill",
            "yaml",
            "bounds",
            "error",
            "source",
            "controls",
            "shell",
            "template_text",
            "pyregex",
            "pyformat",
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
            "pyregex",
        ],
    ),
    // Variables and templates over what the loader produced. (`quote` for the
    // shell-quoting template helper comes from `shell`, not from modules.)
    (
        "plan",
        &[
            "load",
            "yaml",
            "bounds",
            "error",
            "source",
            "shell",
            "template_text",
            "pyregex",
            "pyformat",
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
            "controls",
            "source",
            "shell",
            "template_text",
            "pyregex",
            "pyformat",
        ],
    ),
    // Modules build scripts and read their answers (`transport::ExecOutput`);
    // they know nothing of execute, load, plan or report.
    (
        "modules",
        &[
            "transport",
            "bounds",
            "error",
            "source",
            "shell",
            "pyregex",
            "pyformat",
        ],
    ),
    // Transport moves scripts; it knows nothing of modules or any stage above.
    ("transport", &["error", "source", "shell"]),
    // Reporters show `modules::TaskResult` / `Status` and use the module
    // registry for names (`canonical_name`, check-mode skips).
    ("report", &["modules", "error", "source", "controls"]),
    // The lab builds namespaces and sshd; it shares only the base layer
    // (quoting from `shell`, its inventory through `yaml`).
    ("lab", &["yaml", "error", "source", "shell"]),
    // The drill drives `baton run` and `baton lab` as child processes; it
    // reads inventories (real targets' hosts and vars) through the loader.
    // a drill is a top-level command like the CLI: it closes the warm ssh
    // masters its rapid phase kept (by their control sockets)
    ("drill", &["load", "error", "source", "shell", "transport"]),
    // The base layer: below every stage, never importing one.
    ("yaml", &["error", "source"]),
    ("error", &["source", "controls"]),
    ("source", &[]),
    // What a control character is and how it is shown escaped: shared by
    // errors, the report and the command line's own lines.
    ("controls", &[]),
    ("shell", &[]),
    ("template_text", &[]),
    // Bounds on durations, counts, nesting and template steps, shared by
    // load, plan, execute, modules, cli.
    ("bounds", &[]),
    // Python-dialect regexes, shared by plan (filters, tests) and modules (lineinfile).
    ("pyregex", &[]),
    // Python's json.dumps and PyYAML text, shared by plan (to_json, to_yaml)
    // and modules (copy content that is not a string).
    ("pyformat", &[]),
];

/// Why a reference is refused.
#[derive(Debug, Clone, PartialEq)]
enum Why {
    /// A path reaches top-level module `.0`, which the stage may not import.
    Import(String),
    /// A glob of the crate root: imports every stage.
    RootGlob,
    /// A re-export of another stage's module (or of the crate root) as a whole.
    Conduit,
    /// `#[path]` or `include!` compiling a file outside the stage's directory,
    /// or a non-literal one.
    ForeignFile,
    /// A path whose stage the scanner cannot see (built by a macro).
    Unverifiable,
    /// A `macro_rules!` macro defined in stage `.0`, which may not be imported.
    Macro(String),
    /// `mod x;` in `main.rs`.
    MainModule,
    /// The file does not parse.
    Parse(String),
}

/// One offence against the stage order.
#[derive(Debug)]
struct Offence {
    file: String,
    line: usize,
    stage: String,
    path: String,
    why: Why,
    text: String,
}

impl Offence {
    fn message(&self, allowed: &[&str]) -> String {
        let Offence {
            file,
            line,
            stage,
            path,
            why,
            text,
        } = self;
        let what = match why {
            Why::Import(t) => format!("imports `{t}` through `{path}`"),
            Why::RootGlob => format!("globs the crate root (every stage) with `{path}`"),
            Why::Conduit => format!(
                "re-exports another stage's module as a whole with `{path}` (a conduit: re-export items instead)"
            ),
            Why::ForeignFile => format!(
                "compiles a file outside `src/{stage}/` (or a path the scanner cannot check) with `{path}`"
            ),
            Why::Unverifiable => format!(
                "builds a path whose stage cannot be checked (a macro fills it in) at `{path}`"
            ),
            Why::Macro(d) => format!("invokes `{path}!`, a macro defined in `{d}`"),
            Why::MainModule => format!("declares `mod {path};`: main.rs may only call `baton::cli`"),
            Why::Parse(e) => format!("does not parse ({e})"),
        };
        format!(
            "{file}:{line}: `{stage}` {what} against the stage order: `{text}`\n    `{stage}` may import only: {}",
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        )
    }
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

/// The module path of a file relative to the crate root (`src/load/args.rs`
/// -> `["load", "args"]`, `src/load/mod.rs` -> `["load"]`, `src/lib.rs` ->
/// `[]`). `rel` starts with `src/`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        if stem != "mod" && !(parts.is_empty() && (stem == "lib" || stem == "main")) {
            parts.push(stem);
        }
    }
    parts
}

/// `r#report` -> `report`.
fn name(ident: &proc_macro2::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// Crate-wide facts gathered from every file, grown to a fixed point.
#[derive(Default, Clone, PartialEq)]
struct Facts {
    /// Names bound to the crate root; always `baton`.
    roots: BTreeSet<String>,
    /// Every module path: from the files and from `mod x { ... }`/`mod x;`.
    modules: BTreeSet<Vec<String>>,
    /// `macro_rules!` name -> the stages defining it.
    macros: BTreeMap<String, BTreeSet<String>>,
    /// Stage -> names it binds to a module of another stage.
    foreign: BTreeMap<String, BTreeSet<String>>,
    /// Stages using `#[path]` or `include!`: a file's module depth may differ
    /// from its path's.
    moved: BTreeSet<String>,
}

impl Facts {
    fn union(&mut self, other: &Facts) {
        self.roots.extend(other.roots.iter().cloned());
        self.modules.extend(other.modules.iter().cloned());
        for (k, v) in &other.macros {
            self.macros
                .entry(k.clone())
                .or_default()
                .extend(v.iter().cloned());
        }
        for (k, v) in &other.foreign {
            self.foreign
                .entry(k.clone())
                .or_default()
                .extend(v.iter().cloned());
        }
        self.moved.extend(other.moved.iter().cloned());
    }
}

/// Where a path leads.
enum Res {
    /// To the crate root, then these segments.
    Root(Vec<String>),
    /// Somewhere inside the current stage, or outside the crate.
    Other,
}

/// One `use` leaf: the full path, the name it binds (none for a glob).
struct Leaf {
    segs: Vec<String>,
    bind: Option<String>,
    span: Span,
}

fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Leaf>) {
    use syn::UseTree as T;
    let leaf = |prefix: &Vec<String>, ident: &syn::Ident, bind: &syn::Ident| {
        let mut segs = prefix.clone();
        if ident != "self" {
            segs.push(name(ident));
        }
        let bind = if bind == "self" {
            prefix.last().cloned()
        } else {
            Some(name(bind))
        };
        Leaf {
            segs,
            bind,
            span: ident.span(),
        }
    };
    match tree {
        T::Path(p) => {
            prefix.push(name(&p.ident));
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        T::Name(n) => out.push(leaf(prefix, &n.ident, &n.ident)),
        T::Rename(r) => out.push(leaf(prefix, &r.ident, &r.rename)),
        T::Glob(g) => out.push(Leaf {
            segs: prefix.clone(),
            bind: None,
            span: g.star_token.span,
        }),
        T::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

fn is_public(v: &syn::Visibility) -> bool {
    match v {
        syn::Visibility::Inherited => false,
        syn::Visibility::Public(_) => true,
        syn::Visibility::Restricted(r) => !r.path.is_ident("self"),
    }
}

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(t: Option<&TokenTree>, s: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == s)
}

/// `::` at `toks[i]`.
fn is_path_sep(toks: &[TokenTree], i: usize) -> bool {
    matches!(toks.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == proc_macro2::Spacing::Joint)
        && is_punct(toks.get(i + 1), ':')
}

/// Lexically normalised; `None` if `..` climbs above the start.
fn normalise(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// A path read from tokens.
struct TokPath {
    /// Segments with their spans (`$x` for a metavariable).
    segs: Vec<(String, Span)>,
    /// A leading `::`.
    leading: bool,
    /// The index after the path.
    end: usize,
    /// Ends in `::*` or `::{...}`.
    tail: bool,
}

/// Scans one file: offences into `out`, facts into `found`.
struct Scan<'a> {
    facts: &'a Facts,
    found: Facts,
    out: Vec<Offence>,
    /// `src/...`.
    file: &'a Path,
    stage: String,
    allowed: &'a [&'a str],
    /// The top-level module names (the table's).
    names: BTreeSet<String>,
    /// The current module path (the file's, then inline `mod`s).
    modpath: Vec<String>,
    /// Inline `mod` names since the file's own module (for `#[path]`).
    inline: Vec<String>,
    lines: Vec<&'a str>,
}

impl Scan<'_> {
    fn report(&mut self, span: Span, path: String, why: Why) {
        let line = span.start().line;
        let text = self
            .lines
            .get(line.wrapping_sub(1))
            .map_or("", |l| l.trim())
            .to_string();
        self.out.push(Offence {
            file: self.file.display().to_string(),
            line,
            stage: self.stage.clone(),
            path,
            why,
            text,
        });
    }

    fn is_root_name(&self, s: &str) -> bool {
        s == "baton" || self.facts.roots.contains(s)
    }

    fn resolve(&self, segs: &[String], leading_colon: bool) -> Res {
        let Some(first) = segs.first() else {
            return Res::Other;
        };
        // Any name bound to the crate root, anywhere in the path (an alias
        // may be reached through `super::c` or `a::c`).
        let alias = segs
            .iter()
            .position(|s| self.is_root_name(s))
            .map(|j| Res::Root(segs[j + 1..].to_vec()));
        if leading_colon {
            return alias.unwrap_or(Res::Other);
        }
        match first.as_str() {
            "crate" | "$crate" => Res::Root(segs[1..].to_vec()),
            "self" | "super" => {
                let mut i = usize::from(first == "self");
                let mut k = 0;
                while segs.get(i).is_some_and(|s| s == "super") {
                    k += 1;
                    i += 1;
                }
                let rest = segs[i..].to_vec();
                if k >= self.modpath.len() {
                    return Res::Root(rest);
                }
                if k > 0 && self.facts.moved.contains(&self.stage) {
                    // The file's depth is uncertain: this chain may reach the root.
                    if rest.first().is_none_or(|r| self.names.contains(r)) {
                        return Res::Root(rest);
                    }
                }
                alias.unwrap_or(Res::Other)
            }
            // A relative path in the crate root names a top-level module.
            s if self.modpath.is_empty() && self.names.contains(s) => Res::Root(segs.to_vec()),
            _ => alias.unwrap_or(Res::Other),
        }
    }

    fn shown(segs: &[String], leading_colon: bool) -> String {
        format!(
            "{}{}",
            if leading_colon { "::" } else { "" },
            segs.join("::")
        )
    }

    /// Checks the stage named by `rest[0]`, for a path reaching the root.
    fn check_target(&mut self, span: Span, rest: &[String], shown: String) {
        let Some(t) = rest.first() else {
            return;
        };
        if t.starts_with('$') {
            self.report(span, shown, Why::Unverifiable);
        } else if *t != self.stage && !self.allowed.contains(&t.as_str()) {
            self.report(span, shown, Why::Import(t.clone()));
        }
    }

    fn check_path(&mut self, segs: &[String], leading_colon: bool, span: Span) {
        if let Res::Root(rest) = self.resolve(segs, leading_colon) {
            self.check_target(span, &rest, Self::shown(segs, leading_colon));
        }
    }

    fn check_use(&mut self, tree: &syn::UseTree, leading_colon: bool, public: bool) {
        let mut leaves = Vec::new();
        use_leaves(tree, &mut Vec::new(), &mut leaves);
        for leaf in leaves {
            let mut shown = Self::shown(&leaf.segs, leading_colon);
            if leaf.bind.is_none() {
                shown.push_str("::*");
            }
            match self.resolve(&leaf.segs, leading_colon) {
                Res::Root(rest) if rest.is_empty() => match &leaf.bind {
                    None => self.report(leaf.span, shown, Why::RootGlob),
                    Some(b) => {
                        if b.starts_with('$') {
                            self.report(leaf.span, shown.clone(), Why::Unverifiable);
                        }
                        if public {
                            self.report(leaf.span, shown, Why::Conduit);
                        }
                        self.found.roots.insert(b.clone());
                    }
                },
                Res::Root(rest) => {
                    self.check_target(leaf.span, &rest, shown.clone());
                    if rest[0] != self.stage {
                        let glob = leaf.bind.is_none();
                        let module = self.facts.modules.contains(&rest);
                        if public && (glob || module) {
                            self.report(leaf.span, shown, Why::Conduit);
                        }
                        let foreign = self.found.foreign.entry(self.stage.clone()).or_default();
                        if glob {
                            for m in &self.facts.modules {
                                if m.len() == rest.len() + 1 && m.starts_with(&rest) {
                                    foreign.insert(m[rest.len()].clone());
                                }
                            }
                        } else if module {
                            foreign.extend(leaf.bind.clone());
                        }
                    }
                }
                Res::Other => {
                    let names = self.facts.foreign.get(&self.stage);
                    let through = names
                        .is_some_and(|n| leaf.segs.iter().chain(&leaf.bind).any(|s| n.contains(s)));
                    if public && through {
                        self.report(leaf.span, shown, Why::Conduit);
                    }
                }
            }
        }
    }

    /// `#[path = p]` or `include!(p)`: the file must be inside `src/<stage>/`
    /// under every reading of where `p` is relative to, and be a `.rs` file
    /// when it is one (`must_rs`).
    fn check_file(&mut self, span: Span, p: &str, must_rs: bool, what: &str) {
        self.found.moved.insert(self.stage.clone());
        let shown = format!("{what}\"{p}\"");
        let dir = self.file.parent().unwrap_or(Path::new(""));
        let fname = self
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let mod_rs = matches!(fname.as_deref(), Some("mod.rs" | "lib.rs" | "main.rs"));
        let stem_dir = if mod_rs {
            dir.to_path_buf()
        } else {
            dir.join(self.file.file_stem().unwrap_or_default())
        };
        let inline: PathBuf = self.inline.iter().collect();
        let stage_dir = Path::new("src").join(&self.stage);
        let candidates = [
            dir.join(p),
            dir.join(&inline).join(p),
            stem_dir.join(&inline).join(p),
        ];
        let inside = Path::new(p).is_relative()
            && candidates
                .iter()
                .all(|c| normalise(c).is_some_and(|n| n.starts_with(&stage_dir) && n != stage_dir));
        if !inside || (must_rs && !p.ends_with(".rs")) {
            self.report(span, shown, Why::ForeignFile);
        }
    }

    /// `name!(...)` of a `macro_rules!` macro defined in another stage.
    fn check_macro_name(&mut self, ident: &proc_macro2::Ident) {
        let n = name(ident);
        let Some(defs) = self.facts.macros.get(&n) else {
            return;
        };
        if defs.contains(&self.stage) {
            return;
        }
        let bad: Vec<String> = defs
            .iter()
            .filter(|d| !self.allowed.contains(&d.as_str()))
            .cloned()
            .collect();
        for d in bad {
            self.report(ident.span(), n.clone(), Why::Macro(d));
        }
    }

    /// `path = "..."` (and `cfg_attr(..., path = "...")`) in attribute tokens.
    fn scan_attr(&mut self, ts: TokenStream) {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        for (i, t) in toks.iter().enumerate() {
            if is_ident(Some(t), "path") && is_punct(toks.get(i + 1), '=') {
                match toks.get(i + 2) {
                    Some(TokenTree::Literal(l)) => {
                        match syn::parse2::<syn::LitStr>(TokenTree::Literal(l.clone()).into()) {
                            Ok(s) => self.check_file(l.span(), &s.value(), false, "#[path = "),
                            Err(_) => self.report(l.span(), l.to_string(), Why::ForeignFile),
                        }
                    }
                    _ => self.report(t.span(), "#[path = ...]".into(), Why::ForeignFile),
                }
            }
            if let (true, Some(TokenTree::Group(g))) =
                (is_ident(Some(t), "cfg_attr"), toks.get(i + 1))
            {
                self.scan_attr(g.stream());
            }
        }
    }

    fn include(&mut self, span: Span, ts: TokenStream) {
        match syn::parse2::<syn::LitStr>(ts) {
            Ok(s) => self.check_file(s.span(), &s.value(), true, "include!("),
            Err(_) => {
                self.found.moved.insert(self.stage.clone());
                self.report(span, "include!(...)".into(), Why::ForeignFile)
            }
        }
    }

    /// The path in tokens from `toks[i]`, if one starts there.
    fn read_path(toks: &[TokenTree], i: usize) -> Option<TokPath> {
        let mut j = i;
        let leading = is_path_sep(toks, j);
        if leading {
            j += 2;
        }
        let mut segs = Vec::new();
        let seg = |j: &mut usize, segs: &mut Vec<(String, Span)>| -> bool {
            match (toks.get(*j), toks.get(*j + 1)) {
                (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(id))) if p.as_char() == '$' => {
                    segs.push((format!("${}", name(id)), id.span()));
                    *j += 2;
                    true
                }
                (Some(TokenTree::Ident(id)), _) => {
                    segs.push((name(id), id.span()));
                    *j += 1;
                    true
                }
                _ => false,
            }
        };
        if !seg(&mut j, &mut segs) {
            return None;
        }
        let mut tail = false;
        while is_path_sep(toks, j) {
            let k = j + 2;
            match toks.get(k) {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    tail = true;
                    j = k + 1;
                    break;
                }
                Some(TokenTree::Punct(p)) if p.as_char() == '*' => {
                    tail = true;
                    j = k + 1;
                    break;
                }
                _ => {
                    let mut k2 = k;
                    if !seg(&mut k2, &mut segs) {
                        break;
                    }
                    j = k2;
                }
            }
        }
        Some(TokPath {
            segs,
            leading,
            end: j,
            tail,
        })
    }

    /// Paths, `use` trees, `#[path]`, `include!` and macro names in the
    /// tokens of a macro invocation, a `macro_rules!` body or an attribute.
    fn scan_tokens(&mut self, ts: TokenStream, in_macro: bool) {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            if let TokenTree::Group(g) = t {
                if g.delimiter() == Delimiter::Bracket
                    && (is_punct(i.checked_sub(1).and_then(|p| toks.get(p)), '#')
                        || is_punct(i.checked_sub(1).and_then(|p| toks.get(p)), '!'))
                {
                    self.scan_attr(g.stream());
                }
                self.scan_tokens(g.stream(), in_macro);
                i += 1;
                continue;
            }
            // `pub(crate)`, `pub(in crate::x)`: visibility, not a path to a stage.
            if is_ident(Some(t), "pub")
                && matches!(toks.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
            {
                i += 2;
                continue;
            }
            if let TokenTree::Ident(id) = t {
                if is_punct(toks.get(i + 1), '!')
                    && matches!(toks.get(i + 1), Some(TokenTree::Punct(p)) if p.spacing() == proc_macro2::Spacing::Alone)
                {
                    if id == "macro_rules" {
                        if let Some(TokenTree::Ident(n)) = toks.get(i + 2) {
                            self.found
                                .macros
                                .entry(name(n))
                                .or_default()
                                .insert(self.stage.clone());
                        }
                    } else if !is_path_sep(&toks, i.wrapping_sub(2)) || i < 2 {
                        self.check_macro_name(id);
                        if id == "include" {
                            if let Some(TokenTree::Group(g)) = toks.get(i + 2) {
                                self.include(g.span(), g.stream());
                            }
                        }
                    }
                }
                if id == "use" {
                    let end = toks[i + 1..]
                        .iter()
                        .position(|t| is_punct(Some(t), ';'))
                        .map_or(toks.len(), |e| i + 1 + e);
                    let mut body = &toks[i + 1..end];
                    let leading = is_path_sep(body, 0);
                    if leading {
                        body = &body[2..];
                    }
                    let stream: TokenStream = body.iter().cloned().collect();
                    if let Ok(tree) = syn::parse2::<syn::UseTree>(stream) {
                        let public = i > 0
                            && (is_ident(toks.get(i - 1), "pub")
                                || (i > 1
                                    && is_ident(toks.get(i - 2), "pub")
                                    && matches!(&toks[i - 1], TokenTree::Group(g)
                                        if g.stream().to_string() != "self")));
                        self.check_use(&tree, leading, public);
                        i = end;
                        continue;
                    }
                }
            }
            let starts = matches!(t, TokenTree::Ident(_))
                || (is_punct(Some(t), '$') && matches!(toks.get(i + 1), Some(TokenTree::Ident(_))))
                || is_path_sep(&toks, i);
            if !starts {
                i += 1;
                continue;
            }
            let Some(TokPath {
                segs,
                leading,
                end,
                tail,
            }) = Self::read_path(&toks, i)
            else {
                i += 1;
                continue;
            };
            let names: Vec<String> = segs.iter().map(|(s, _)| s.clone()).collect();
            let span = segs[0].1;
            if segs.len() > 1 || leading {
                self.check_path(&names, leading, span);
            }
            if tail {
                // `crate::{...}` or `crate::*` outside a `use`: unverifiable at the root.
                if let Res::Root(rest) = self.resolve(&names, leading) {
                    if rest.is_empty() {
                        self.report(span, Self::shown(&names, leading), Why::Unverifiable);
                    }
                }
            } else if in_macro && segs.len() == 1 && !leading {
                let s = &names[0];
                let root = s == "crate" || s == "$crate" || s == "super" || self.is_root_name(s);
                let followed = is_path_sep(&toks, end);
                if root && !followed {
                    // Handed to a macro that may glue `::x` onto it.
                    self.report(span, s.clone(), Why::Unverifiable);
                }
            }
            i = end.max(i + 1);
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| name(&s.ident)).collect();
        let span = p
            .segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span());
        self.check_path(&segs, p.leading_colon.is_some(), span);
        visit::visit_path(self, p);
    }

    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {
        // `pub(in crate::x)` names an ancestor, not an import.
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for a in &u.attrs {
            self.visit_attribute(a);
        }
        self.check_use(&u.tree, u.leading_colon.is_some(), is_public(&u.vis));
    }

    fn visit_item_extern_crate(&mut self, e: &'ast syn::ItemExternCrate) {
        if let Some((_, alias)) = &e.rename {
            if e.ident == "self" || self.is_root_name(&name(&e.ident)) {
                self.found.roots.insert(name(alias));
            }
        }
        visit::visit_item_extern_crate(self, e);
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        if a.path().is_ident("path") {
            return; // checked with its `mod`
        }
        if let syn::Meta::List(l) = &a.meta {
            if l.path.is_ident("cfg_attr") {
                self.scan_attr(l.tokens.clone());
            }
            self.scan_tokens(l.tokens.clone(), false);
        }
        visit::visit_attribute(self, a);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        for a in &m.attrs {
            if a.path().is_ident("path") {
                match &a.meta {
                    syn::Meta::NameValue(syn::MetaNameValue {
                        value:
                            syn::Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }),
                        ..
                    }) => self.check_file(s.span(), &s.value(), m.content.is_none(), "#[path = "),
                    _ => self.report(m.ident.span(), "#[path = ...]".into(), Why::ForeignFile),
                }
            }
        }
        if m.content.is_none() && self.stage == "main" && self.modpath.is_empty() {
            self.report(m.ident.span(), name(&m.ident), Why::MainModule);
        }
        let mut path = self.modpath.clone();
        path.push(name(&m.ident));
        self.found.modules.insert(path);
        for a in &m.attrs {
            self.visit_attribute(a);
        }
        if let Some((_, items)) = &m.content {
            self.modpath.push(name(&m.ident));
            self.inline.push(name(&m.ident));
            for item in items {
                self.visit_item(item);
            }
            self.modpath.pop();
            self.inline.pop();
        }
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if m.mac.path.is_ident("macro_rules") {
            if let Some(n) = &m.ident {
                self.found
                    .macros
                    .entry(name(n))
                    .or_default()
                    .insert(self.stage.clone());
            }
        }
        visit::visit_item_macro(self, m);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        visit::visit_macro(self, m);
        if let Some(id) = m.path.get_ident() {
            if id != "macro_rules" {
                self.check_macro_name(id);
            }
            if id == "include" {
                let span = id.span();
                self.include(span, m.tokens.clone());
            }
        }
        self.scan_tokens(m.tokens.clone(), true);
    }
}

/// Every offence in `files` (paths relative to the crate root, `src/...`,
/// with their text) against `table`, as (offence, what its stage may import).
fn scan<'t>(
    files: &[(PathBuf, String)],
    table: &'t [(&'t str, &'t [&'t str])],
) -> Vec<(Offence, &'t [&'t str])> {
    let names: BTreeSet<String> = table.iter().map(|(m, _)| m.to_string()).collect();
    let parsed: Vec<(&PathBuf, &String, syn::Result<syn::File>)> = files
        .iter()
        .map(|(p, t)| (p, t, syn::parse_file(t)))
        .collect();
    let mut facts = Facts::default();
    facts.roots.insert("baton".into());
    // Every stage is a module even when no file of it is given (the tests).
    for n in names.iter().filter(|n| *n != "lib" && *n != "main") {
        facts.modules.insert(vec![n.clone()]);
    }
    for (p, _) in files {
        let m = module_path(p);
        if !m.is_empty() {
            facts.modules.insert(m);
        }
    }
    // Aliases, conduits and macros found in one file matter in every other:
    // scan until the facts stop growing, and keep the last round's offences.
    for _round in 0..16 {
        let mut found = facts.clone();
        let mut out = Vec::new();
        for (rel, text, ast) in &parsed {
            let src = Path::new("src");
            let stage = top_level(src, rel);
            let Some((_, allowed)) = table.iter().find(|(m, _)| *m == stage) else {
                out.push((
                    Offence {
                        file: rel.display().to_string(),
                        line: 1,
                        stage: stage.clone(),
                        path: stage.clone(),
                        why: Why::Parse(format!(
                            "top-level module `{stage}` is not in tests/stage_order.rs's ALLOWED table; add it with what it may import"
                        )),
                        text: String::new(),
                    },
                    &[][..],
                ));
                continue;
            };
            let mut s = Scan {
                facts: &facts,
                found: Facts::default(),
                out: Vec::new(),
                file: rel,
                stage,
                allowed,
                names: names.clone(),
                modpath: module_path(rel),
                inline: Vec::new(),
                lines: text.lines().collect(),
            };
            match ast {
                Ok(f) => s.visit_file(f),
                Err(e) => s.report(e.span(), String::new(), Why::Parse(e.to_string())),
            }
            found.union(&s.found);
            out.extend(s.out.into_iter().map(|o| (o, *allowed)));
        }
        if found == facts {
            // `use crate::{a, a::b}`: one offence per line and reason.
            out.dedup_by(|a, b| (&a.0.file, a.0.line, &a.0.why) == (&b.0.file, b.0.line, &b.0.why));
            return out;
        }
        facts = found;
    }
    panic!("stage_order: crate facts did not settle in 16 rounds");
}

fn src_files() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f.strip_prefix(root).unwrap().to_path_buf(), text)
        })
        .collect()
}

#[test]
fn every_import_follows_the_stage_order() {
    let offences: Vec<String> = scan(&src_files(), ALLOWED)
        .into_iter()
        .map(|(o, allowed)| o.message(allowed))
        .collect();
    assert!(
        offences.is_empty(),
        "{} import(s) against the flow (see ALLOWED in tests/stage_order.rs):\n{}",
        offences.len(),
        offences.join("\n")
    );
}

/// The offences in these fake files, as (file, line, why).
fn caught(files: &[(&str, &str)]) -> Vec<(String, usize, Why)> {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    scan(&files, ALLOWED)
        .into_iter()
        .map(|(o, _)| (o.file, o.line, o.why))
        .collect()
}

fn import(file: &str, line: usize, target: &str) -> (String, usize, Why) {
    (file.to_string(), line, Why::Import(target.to_string()))
}

fn why(file: &str, line: usize, why: Why) -> (String, usize, Why) {
    (file.to_string(), line, why)
}

const T: &str = "src/transport/x.rs";

#[test]
fn the_scanner_sees_use_lines_groups_and_inline_paths() {
    let text = "use crate::yaml::Node;\n\
                use crate::{error::InputError, modules::{self, Status}};\n\
                use crate::{\n    plan,\n    report::Event,\n};\n\
                // use crate::lab; (a comment, not an import)\n\
                fn f() { crate::template_text::is_template(\"x\"); mycrate::no(); }\n";
    assert_eq!(
        caught(&[(T, text)]),
        vec![
            import(T, 1, "yaml"),
            import(T, 2, "modules"),
            import(T, 4, "plan"),
            import(T, 5, "report"),
            import(T, 8, "template_text"),
        ]
    );
}

#[test]
fn crate_aliases_are_followed() {
    assert_eq!(
        caught(&[(T, "use crate as c; type A = c::report::Recap;")]),
        vec![import(T, 1, "report")]
    );
    assert_eq!(
        caught(&[(
            T,
            "use crate::{self as c};\nmod m { type A = super::c::report::Recap; }"
        )]),
        vec![import(T, 2, "report")]
    );
    // `extern crate self` in lib.rs binds a name usable in every module.
    assert_eq!(
        caught(&[
            (
                "src/lib.rs",
                "extern crate self as baton_again;\npub mod transport;"
            ),
            (T, "\ntype A = baton_again::report::Recap;"),
        ]),
        vec![import(T, 2, "report")]
    );
    // main.rs is its own crate: `baton` under another name.
    assert_eq!(
        caught(&[(
            "src/main.rs",
            "use baton as b;\ntype M = b::report::Recap;\nfn main() { b::cli::main(); }"
        )]),
        vec![import("src/main.rs", 2, "report")]
    );
    // `::baton::x` and a raw identifier.
    assert_eq!(
        caught(&[(
            T,
            "type A = ::baton::report::Recap;\ntype B = crate::r#report::Recap;"
        )]),
        vec![import(T, 1, "report"), import(T, 2, "report")]
    );
}

#[test]
fn a_glob_of_the_crate_root_is_refused() {
    assert_eq!(
        caught(&[(T, "mod g { use crate::*; type A = report::Recap; }")]),
        vec![why(T, 1, Why::RootGlob)]
    );
    // `super` of a top-level module is the crate root.
    assert_eq!(
        caught(&[("src/transport/mod.rs", "use super::*;")]),
        vec![why("src/transport/mod.rs", 1, Why::RootGlob)]
    );
}

#[test]
fn split_and_spaced_paths_are_one_path() {
    for text in [
        "type A = crate::\n report::Recap;",
        "type A = crate\n::report::Recap;",
        "type A = crate :: report::Recap;",
    ] {
        assert_eq!(
            caught(&[(T, text)]),
            vec![import(T, 1, "report")],
            "{text:?}"
        );
    }
}

#[test]
fn strings_and_comments_are_not_code() {
    assert_eq!(
        caught(&[(
            T,
            "fn f() { let u = \"http://x\"; type A = crate::report::Recap; }"
        )]),
        vec![import(T, 1, "report")]
    );
    assert_eq!(
        caught(&[(
            T,
            "/* see crate::report */\nconst S: &str = \"crate::lab is not used here\";\n\
             /// `crate::execute` in a doc comment\nfn f() { println!(\"crate::plan {}\", 1); }"
        )]),
        vec![]
    );
}

#[test]
fn super_chains_are_resolved_against_the_module_path() {
    assert_eq!(
        caught(&[(T, "type A = super::super::report::Recap;")]),
        vec![import(T, 1, "report")]
    );
    assert_eq!(
        caught(&[(
            "src/transport/mod.rs",
            "mod tests {\n    type A = super::super::report::Recap;\n}"
        )]),
        vec![import("src/transport/mod.rs", 2, "report")]
    );
    // Within the stage: allowed.
    assert_eq!(
        caught(&[(
            "src/load/inventory/ini.rs",
            "mod tests { use super::super::Inventory; type A = super::super::super::args::X; }"
        )]),
        vec![]
    );
}

#[test]
fn macros_are_read_as_tokens() {
    // The macro builds the stage name: cannot be checked, so refused.
    assert_eq!(
        caught(&[(
            T,
            "macro_rules! up { ($m:ident) => { crate::$m::Recap } }\ntype A = up!(report);"
        )]),
        vec![why(T, 1, Why::Unverifiable)]
    );
    // A bare `crate` handed to a macro that glues the rest on.
    assert_eq!(
        caught(&[(
            T,
            "macro_rules! up { ($r:tt) => { $r::report::Recap } }\ntype A = up!(crate);"
        )]),
        vec![why(T, 2, Why::Unverifiable)]
    );
    // Paths in a macro body and in an invocation's tokens.
    assert_eq!(
        caught(&[(
            T,
            "macro_rules! r { () => { $crate::report::Recap } }\n\
             fn f() { let _ = format!(\"{:?}\", crate::lab::X); }\n\
             macro_rules! u { () => { pub use crate::transport as wire; use crate::{plan}; } }"
        )]),
        vec![
            import(T, 1, "report"),
            import(T, 2, "lab"),
            import(T, 3, "plan")
        ]
    );
    // A macro defined in a stage this one may not import.
    assert_eq!(
        caught(&[
            ("src/report/m.rs", "macro_rules! recap { () => { 1 } }"),
            (T, "fn f() { recap!(); }"),
        ]),
        vec![why(T, 1, Why::Macro("report".into()))]
    );
}

#[test]
fn files_from_outside_the_stage_are_refused() {
    for (text, line) in [
        ("#[path = \"../execute/tags.rs\"] mod stolen;", 1),
        (
            "\n#[cfg_attr(all(), path = \"../execute/tags.rs\")] mod stolen;",
            2,
        ),
        ("include!(\"../execute/tags.rs\");", 1),
        ("include!(concat!(\"../execute\", \"/tags.rs\"));", 1),
        ("#[path = \"y.txt\"] mod y;", 1),
        (
            "macro_rules! m { () => { #[path = \"../execute/tags.rs\"] mod stolen; } }",
            1,
        ),
    ] {
        assert_eq!(
            caught(&[(T, text)]),
            vec![why(T, line, Why::ForeignFile)],
            "{text:?}"
        );
    }
    // A top-level file's own directory is `src/<stage>/`, not `src/`.
    assert_eq!(
        caught(&[("src/yaml.rs", "#[path = \"report/mod.rs\"] mod r;")]),
        vec![why("src/yaml.rs", 1, Why::ForeignFile)]
    );
    // Inside the stage's directory: allowed.
    assert_eq!(
        caught(&[(
            T,
            "#[path = \"x/inner.rs\"] mod inner;\n#[path = \"ssh.rs\"] mod s;"
        )]),
        vec![]
    );
    // Once a stage moves files, `super::` may reach the root at any depth.
    assert_eq!(
        caught(&[(
            "src/transport/a/b.rs",
            "#[path = \"../z.rs\"] mod z;\ntype A = super::report::Recap;"
        )]),
        vec![import("src/transport/a/b.rs", 2, "report")]
    );
}

#[test]
fn reexports_of_another_stage_module_are_refused() {
    let laundering = [
        ("src/modules/x.rs", "pub use crate::transport as wire;"),
        (
            "src/report/x.rs",
            "type A = crate::modules::x::wire::ExecOutput;",
        ),
    ];
    assert_eq!(
        caught(&laundering),
        vec![why("src/modules/x.rs", 1, Why::Conduit)]
    );
    for text in [
        "pub use crate::transport::*;",
        "pub(crate) use crate::transport::{self as wire};",
        "pub use crate::transport::ssh;",
        "use crate::transport as wire;\npub use self::wire as w2;",
        "pub use crate as root;",
    ] {
        let line = text.lines().count();
        assert_eq!(
            caught(&[("src/modules/x.rs", text), ("src/transport/ssh.rs", ""),]),
            vec![why("src/modules/x.rs", line, Why::Conduit)],
            "{text:?}"
        );
    }
    // A private import (or glob) in one file, re-exported from another file
    // of the stage.
    for (mod_rs, x) in [
        (
            "use crate::transport as wire;",
            "use super::*;\npub use wire as w2;",
        ),
        ("use crate::transport::*;", "pub use super::ssh as s;"),
    ] {
        assert_eq!(
            caught(&[
                ("src/modules/mod.rs", mod_rs),
                ("src/modules/x.rs", x),
                ("src/transport/ssh.rs", ""),
            ]),
            vec![why("src/modules/x.rs", x.lines().count(), Why::Conduit)],
            "{x:?}"
        );
    }
    // Items may be re-exported, and private imports of a module are fine.
    assert_eq!(
        caught(&[(
            "src/modules/x.rs",
            "pub use crate::transport::ExecOutput;\nuse crate::transport as wire;\ntype A = wire::ExecOutput;"
        )]),
        vec![]
    );
}

#[test]
fn main_may_not_compile_library_files() {
    assert_eq!(
        caught(&[("src/main.rs", "mod report;\nfn main() {}")]),
        vec![why("src/main.rs", 1, Why::MainModule)]
    );
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

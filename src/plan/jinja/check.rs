//! Load-time checks by walking a template's syntax tree (minijinja's
//! `unstable_machinery` parser): every filter and test must exist, also in
//! a branch that never runs, a literal regular expression must compile, and
//! a literal lookup plugin name must be one baton has.
//! The same walk lists the variables a template reads, to name the undefined
//! one when rendering fails.

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{self, Span, WhitespaceConfig};

use minijinja::syntax::SyntaxConfig;

use super::env::{FILTERS, TESTS};
use super::{header, lookup, regex};
use crate::error::did_you_mean;

/// The functions a template may call (minijinja's and baton's globals),
/// besides macros. `super` and `loop` (a recursive loop) last: they only
/// work in their place, so the help does not list them.
const FUNCTIONS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "lookup",
    "query",
    "q",
    "super",
    "loop",
];

/// The deepest chain of operators, filters, tests, attribute and item
/// accesses and brackets one expression may nest (`1 + 1 + …`, `x.a.a…`,
/// `v | string | string…`, `not not …`, `x or x or …`). minijinja builds one
/// syntax-tree level per operator and compiles, evaluates and drops the tree
/// recursively, so a few thousand chained operators overflow the stack. 256
/// levels of any kind fit in 4 MiB even in a debug build (a unit test in
/// `plan::template` checks it), half the 8 MiB of every thread that renders
/// (the main thread; the runtime's workers are raised to 8 MiB), and no
/// real expression comes near it.
pub const MAX_EXPRESSION_DEPTH: usize = 256;

/// The levels one bracket group (or the top of an expression) adds so far.
#[derive(Default)]
struct Level {
    /// Operators in the current comma-separated part.
    ops: usize,
    /// The deepest closed bracket group in the current part.
    child: usize,
    /// The deepest earlier part.
    best: usize,
}

/// Refuse a template (`in_expr` false) or a bare expression (`in_expr` true)
/// whose operator chain nests deeper than [`MAX_EXPRESSION_DEPTH`], from its
/// tokens alone: before minijinja parses it (its parser, compiler and
/// evaluator recurse once per level). An upper bound of the tree's depth:
/// each operator token and each bracket counts one level, commas and colons
/// separate siblings. Tokens that do not lex are left to the parser, which
/// reports them.
pub fn depth(source: &str, syntax: SyntaxConfig, in_expr: bool) -> Result<(), Problem> {
    use minijinja::machinery::Token;
    if !source.contains(['{', '%']) && !in_expr {
        return Ok(());
    }
    // a bare expression is lexed as `{{ source }}` in template mode: the
    // lexer's expression mode panics on a stray `}}`
    let wrapped;
    let (text, shift) = if in_expr {
        wrapped = format!("{{{{ {source} }}}}");
        (wrapped.as_str(), 3)
    } else {
        (source, 0)
    };
    let mut stack = vec![Level::default()];
    // the sum of `ops + child` over the stack: the depth at this token
    let mut total = 0usize;
    for tok in machinery::tokenize(text, false, syntax, WhitespaceConfig::default()) {
        let Ok((tok, span)) = tok else {
            return Ok(());
        };
        match tok {
            Token::TemplateData(_)
            | Token::VariableStart
            | Token::VariableEnd
            | Token::BlockStart
            | Token::BlockEnd => {
                stack.clear();
                stack.push(Level::default());
                total = 0;
            }
            Token::Comma | Token::Colon | Token::Assign => {
                if let Some(top) = stack.last_mut() {
                    total -= top.ops + top.child;
                    top.best = top.best.max(top.ops + top.child);
                    top.ops = 0;
                    top.child = 0;
                }
            }
            Token::BracketClose | Token::ParenClose | Token::BraceClose if stack.len() > 1 => {
                if let Some(done) = stack.pop() {
                    total -= done.ops + done.child;
                    let deep = done.best.max(done.ops + done.child);
                    if let Some(top) = stack.last_mut() {
                        if deep > top.child {
                            total += deep - top.child;
                            top.child = deep;
                        }
                    }
                }
            }
            Token::Ident(w) if !matches!(w, "and" | "or" | "not" | "in" | "is" | "if" | "else") => {
            }
            Token::Str(_)
            | Token::String(_)
            | Token::Int(_)
            | Token::Int128(_)
            | Token::Float(_)
            | Token::BracketClose
            | Token::ParenClose
            | Token::BraceClose => {}
            open => {
                if let Some(top) = stack.last_mut() {
                    top.ops += 1;
                    total += 1;
                }
                if matches!(
                    open,
                    Token::BracketOpen | Token::ParenOpen | Token::BraceOpen
                ) {
                    stack.push(Level::default());
                }
            }
        }
        if total > MAX_EXPRESSION_DEPTH {
            return Err(Problem {
                message: format!(
                    "this expression nests more than {MAX_EXPRESSION_DEPTH} operators, filters \
                     or attribute accesses deep (baton's limit, which keeps the template \
                     engine from overflowing its stack)"
                ),
                help: Some(
                    "split it: compute parts in `set_fact`/`vars` or `{% set %}`, \
                     or loop over a list instead of chaining operators"
                        .into(),
                ),
                range: (span.start_offset as usize)
                    .saturating_sub(shift)
                    .min(source.len())
                    ..(span.end_offset as usize)
                        .saturating_sub(shift)
                        .min(source.len()),
            });
        }
    }
    Ok(())
}

/// A problem found in a template, at a byte range of its source.
#[derive(Debug)]
pub struct Problem {
    pub message: String,
    pub help: Option<String>,
    /// Byte range inside the checked text.
    pub range: std::ops::Range<usize>,
}

impl Problem {
    fn from_error(err: &minijinja::Error, len: usize) -> Problem {
        Problem {
            message: format!(
                "template syntax error: {}",
                err.detail().unwrap_or("invalid syntax")
            ),
            help: Some("templates are Jinja2: {{ var }}, {{ x | filter }}, {% if cond %}...{% endif %}; conditions are bare expressions (`when: x == 'y'`)".into()),
            range: err.range().unwrap_or(0..len),
        }
    }
}

/// The part of a template after its `#jinja2:` header line (if any), its
/// offset in the template, and the syntax the header sets.
fn body_of(source: &str) -> Result<(&str, usize, SyntaxConfig), Problem> {
    Ok(match header::split(source)? {
        Some(h) => (h.body, source.len() - h.body.len(), h.overrides.syntax()),
        None => (source, 0, SyntaxConfig::default()),
    })
}

/// Parse and check a template (text with `{{ }}`, `{% %}`, `{# #}`, and
/// the delimiters a `#jinja2:` header sets).
pub fn template(source: &str) -> Result<(), Problem> {
    let (body, base, syntax) = body_of(source)?;
    let shift = |mut p: Problem| {
        p.range = p.range.start + base..p.range.end + base;
        p
    };
    depth(body, syntax.clone(), false).map_err(shift)?;
    let ast = machinery::parse(body, "<template>", syntax, WhitespaceConfig::default())
        .map_err(|e| shift(Problem::from_error(&e, body.len())))?;
    let mut w = Walker::default();
    w.stmt(&ast);
    w.finish().map_err(shift)
}

/// Parse and check a bare expression (a condition).
pub fn expression(source: &str) -> Result<(), Problem> {
    let mut w = Walker::default();
    with_expression(source, |e| w.expr(e))?;
    w.finish()
}

/// Parse a bare expression as `{{ source }}` (template mode: minijinja's
/// standalone expression parser panics on a stray `}}`) and give it to `f`.
/// Ranges in problems are relative to `source`.
fn with_expression(source: &str, f: impl FnOnce(&Expr<'_>)) -> Result<(), Problem> {
    depth(source, SyntaxConfig::default(), true)?;
    let wrapped = format!("{{{{ {source} }}}}");
    let shift = |r: std::ops::Range<usize>| {
        r.start.saturating_sub(3).min(source.len())..r.end.saturating_sub(3).min(source.len())
    };
    let ast = machinery::parse(
        &wrapped,
        "<expression>",
        Default::default(),
        WhitespaceConfig::default(),
    )
    .map_err(|e| {
        let mut p = Problem::from_error(&e, wrapped.len());
        p.range = shift(p.range);
        p
    })?;
    match &ast {
        Stmt::Template(t) if t.children.len() == 1 => match t.children.first() {
            Some(Stmt::EmitExpr(e)) => {
                f(&e.expr);
                Ok(())
            }
            _ => Err(not_one(source)),
        },
        _ => Err(not_one(source)),
    }
}

fn not_one(source: &str) -> Problem {
    Problem {
        message: "a condition must be one Jinja expression".into(),
        help: Some("write a bare expression, e.g. `when: hvr_state == 'START'`, without `{{ }}` or `{% %}` around parts of it".into()),
        range: 0..source.len(),
    }
}

/// A variable read: its path (`a`, `a.b`, `a['b']` as `a.b`) and where.
#[derive(Debug, Clone)]
pub struct VarRef {
    pub path: Vec<String>,
    pub range: std::ops::Range<usize>,
    /// Under `default(...)` or `is defined`: undefined is fine there.
    pub guarded: bool,
}

/// The name [`variables`] gives for `lookup('vars', EXPR)` with a name
/// computed at run time: any variable may be read (not an identifier, so no
/// variable has it).
pub const ANY_VARIABLE: &str = "*";

/// Variables a template (or, with `expr`, an expression) reads, in source
/// order, without those it binds itself (`for`, `set`, macro arguments).
pub fn variables(source: &str, expr: bool) -> Vec<VarRef> {
    let mut w = Walker {
        collect: true,
        ..Walker::default()
    };
    if expr {
        // shift ranges back by the `{{ ` the expression was wrapped in
        let start = w.vars.len();
        let _ = with_expression(source, |e| w.expr(e));
        for v in &mut w.vars[start..] {
            v.range = v.range.start.saturating_sub(3)..v.range.end.saturating_sub(3);
        }
    } else if let Ok((body, base, syntax)) = body_of(source) {
        if depth(body, syntax.clone(), false).is_err() {
            return Vec::new();
        }
        if let Ok(ast) = machinery::parse(body, "<template>", syntax, WhitespaceConfig::default()) {
            w.stmt(&ast);
            for v in &mut w.vars {
                v.range = v.range.start + base..v.range.end + base;
            }
        }
    }
    let bound = w.bound;
    w.vars
        .into_iter()
        .filter(|v| !v.path.first().is_some_and(|h| bound.contains(h)))
        .collect()
}

#[derive(Default)]
struct Walker {
    problem: Option<Problem>,
    collect: bool,
    guarded: usize,
    vars: Vec<VarRef>,
    bound: Vec<String>,
}

fn range(span: Span) -> std::ops::Range<usize> {
    span.start_offset as usize..span.end_offset as usize
}

impl Walker {
    fn finish(self) -> Result<(), Problem> {
        match self.problem {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }

    fn fail(&mut self, message: String, help: Option<String>, span: Span) {
        if self.problem.is_none() {
            self.problem = Some(Problem {
                message,
                help,
                range: range(span),
            });
        }
    }

    fn stmts(&mut self, body: &[Stmt<'_>]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn bind(&mut self, target: &Expr<'_>) {
        match target {
            Expr::Var(v) => self.bound.push(v.id.to_string()),
            Expr::List(l) => l.items.iter().for_each(|i| self.bind(i)),
            _ => {}
        }
    }

    fn stmt(&mut self, s: &Stmt<'_>) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                self.bind(&f.target);
                self.bound.push("loop".into());
                if let Some(fe) = &f.filter_expr {
                    self.expr(fe);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.stmts(&i.true_body);
                self.stmts(&i.false_body);
            }
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    self.expr(value);
                    self.bind(target);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(set) => {
                self.expr(&set.expr);
                self.bind(&set.target);
            }
            Stmt::SetBlock(set) => {
                self.bind(&set.target);
                if let Some(f) = &set.filter {
                    self.expr(f);
                }
                self.stmts(&set.body);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Macro(m) => {
                self.bound.push(m.name.to_string());
                // a macro may call the body of the `{% call %}` that called it
                self.bound.push("caller".into());
                m.args.iter().for_each(|a| self.bind(a));
                m.defaults.iter().for_each(|d| self.expr(d));
                self.stmts(&m.body);
            }
            Stmt::CallBlock(c) => {
                self.call_args(&c.call.args);
                self.expr(&c.call.expr);
                c.macro_decl.args.iter().for_each(|a| self.bind(a));
                self.bound.push("caller".into());
                self.stmts(&c.macro_decl.body);
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr);
                self.call_args(&d.call.args);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Import(i) => {
                self.expr(&i.expr);
                self.bind(&i.name);
            }
            Stmt::FromImport(f) => {
                self.expr(&f.expr);
                for (name, alias) in &f.names {
                    self.bind(alias.as_ref().unwrap_or(name));
                }
            }
            _ => {}
        }
    }

    fn call_args(&mut self, args: &[CallArg<'_>]) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    /// `a`, `a.b`, `a['b']`, `a[0]` as a path; `None` for anything else.
    fn path(e: &Expr<'_>) -> Option<Vec<String>> {
        match e {
            Expr::Var(v) => Some(vec![v.id.to_string()]),
            Expr::GetAttr(g) => {
                let mut p = Self::path(&g.expr)?;
                p.push(g.name.to_string());
                Some(p)
            }
            Expr::GetItem(g) => {
                let mut p = Self::path(&g.expr)?;
                match &g.subscript_expr {
                    Expr::Const(c) => {
                        p.push(match c.value.as_str() {
                            Some(s) => s.to_string(),
                            None => c.value.to_string(),
                        });
                        Some(p)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn note_var(&mut self, e: &Expr<'_>, span: Span) -> bool {
        if !self.collect {
            return false;
        }
        match Self::path(e) {
            Some(path) => {
                self.vars.push(VarRef {
                    path,
                    range: range(span),
                    guarded: self.guarded > 0,
                });
                true
            }
            None => false,
        }
    }

    fn literal_regex(&mut self, args: &[CallArg<'_>], span: Span, anchored: bool) {
        if let Some(CallArg::Pos(Expr::Const(c))) = args.first() {
            if let Some(p) = c.value.as_str() {
                let p = if anchored {
                    format!(r"\A(?:{p})")
                } else {
                    p.to_string()
                };
                if let Err(e) = regex::compile(&p, false, false) {
                    self.fail(
                        e,
                        Some(
                            "write the pattern in Python's `re` syntax that fancy-regex supports"
                                .into(),
                        ),
                        span,
                    );
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr<'_>) {
        match e {
            Expr::Var(v) => {
                self.note_var(e, v.span());
            }
            Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for x in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(x);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(f) = &i.false_expr {
                    self.expr(f);
                }
            }
            Expr::Filter(f) => {
                if !FILTERS.contains(&f.name) {
                    let hint = did_you_mean(f.name, FILTERS.iter().copied())
                        .map(|h| format!("did you mean `{h}`? "))
                        .unwrap_or_default();
                    self.fail(
                        format!("unknown filter `{}`", f.name),
                        Some(format!(
                            "{hint}see README, \"Filters and tests\", for the filters baton has"
                        )),
                        f.span(),
                    );
                }
                if f.name.starts_with("regex_") {
                    self.literal_regex(&f.args, f.span(), false);
                }
                let guard = matches!(f.name, "default" | "d" | "mandatory");
                if let Some(inner) = &f.expr {
                    self.guarded += usize::from(guard);
                    self.expr(inner);
                    self.guarded -= usize::from(guard);
                }
                self.call_args(&f.args);
            }
            Expr::Test(t) => {
                if !TESTS.contains(&t.name) {
                    let hint = did_you_mean(t.name, TESTS.iter().copied())
                        .map(|h| format!("did you mean `{h}`? "))
                        .unwrap_or_default();
                    self.fail(
                        format!("unknown test `{}`", t.name),
                        Some(format!(
                            "{hint}see README, \"Filters and tests\", for the tests baton has"
                        )),
                        t.span(),
                    );
                }
                if matches!(t.name, "search" | "match" | "regex") {
                    self.literal_regex(&t.args, t.span(), t.name == "match");
                }
                let guard = matches!(t.name, "defined" | "undefined");
                self.guarded += usize::from(guard);
                self.expr(&t.expr);
                self.guarded -= usize::from(guard);
                self.call_args(&t.args);
            }
            Expr::GetAttr(g) => {
                if !self.note_var(e, g.span()) {
                    self.expr(&g.expr);
                }
            }
            Expr::GetItem(g) => {
                if !self.note_var(e, g.span()) {
                    self.expr(&g.expr);
                    self.expr(&g.subscript_expr);
                }
            }
            Expr::Call(c) => {
                // `x.startswith(...)`: a method on a value; `range(...)`: a function.
                match &c.expr {
                    Expr::GetAttr(g) => self.expr(&g.expr),
                    Expr::Var(v) if matches!(v.id, "lookup" | "query" | "q") => {
                        if let Some(CallArg::Pos(Expr::Const(k))) = c.args.first() {
                            if let Some((msg, help)) =
                                k.value.as_str().and_then(lookup::unknown_plugin)
                            {
                                self.fail(msg, Some(help), c.span());
                            }
                            // `lookup('vars', 'name', ...)` reads variables by
                            // name: literal names count as read, so lazily
                            // rendered variables are there when it runs.
                            let plugin = k.value.as_str().unwrap_or_default();
                            if self.collect && matches!(plugin, "vars" | "ansible.builtin.vars") {
                                for arg in c.args.iter().skip(1) {
                                    let name = match arg {
                                        CallArg::Pos(Expr::Const(n)) => {
                                            n.value.as_str().map(str::to_string)
                                        }
                                        // A name computed when it runs: any
                                        // variable may be read.
                                        CallArg::Pos(_) => Some(ANY_VARIABLE.to_string()),
                                        _ => None,
                                    };
                                    if let Some(name) = name {
                                        self.vars.push(VarRef {
                                            path: vec![name],
                                            range: range(c.span()),
                                            guarded: true,
                                        });
                                    }
                                }
                            }
                        }
                    }
                    Expr::Var(v) => {
                        if !FUNCTIONS.contains(&v.id) && !self.bound.iter().any(|b| b == v.id) {
                            let hint = did_you_mean(v.id, FUNCTIONS.iter().copied())
                                .map(|h| format!("did you mean `{h}`? "))
                                .unwrap_or_default();
                            self.fail(
                                format!("unknown function `{}`", v.id),
                                Some(format!(
                                    "{hint}the functions are {}, and macros the template defines \
                                     or imports",
                                    FUNCTIONS[..FUNCTIONS.len() - 2].join(", ")
                                )),
                                v.span(),
                            );
                        }
                    }
                    other => self.expr(other),
                }
                self.call_args(&c.args);
            }
            Expr::List(l) => l.items.iter().for_each(|i| self.expr(i)),
            Expr::Map(m) => {
                m.keys.iter().for_each(|k| self.expr(k));
                m.values.iter().for_each(|v| self.expr(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filter_in_a_dead_branch_is_refused() {
        let err = template("{% if false %}{{ x | to_jsno }}{% endif %}").unwrap_err();
        assert_eq!(err.message, "unknown filter `to_jsno`");
        assert!(err.help.unwrap().contains("did you mean `to_json`"));
        let err = expression("x is sucess").unwrap_err();
        assert_eq!(err.message, "unknown test `sucess`");
        assert!(err.help.unwrap().contains("did you mean `success`"));
        assert!(template("{{ x | default(omit) }} {{ y is defined }}").is_ok());
    }

    #[test]
    fn syntax_error_has_a_range() {
        let err = expression("x ==").unwrap_err();
        assert!(
            err.message.starts_with("template syntax error"),
            "{}",
            err.message
        );
        let err = template("a {% if x %} b").unwrap_err();
        assert!(err.message.contains("syntax error"), "{}", err.message);
    }

    #[test]
    fn unsupported_regex_is_refused() {
        let err = expression("x is search('a(')").unwrap_err();
        assert!(err.message.contains("not supported"), "{}", err.message);
        assert!(expression(r"x is search('(?<=a)b')").is_ok());
    }

    #[test]
    fn variables_skip_bound_and_mark_guarded() {
        let vars = variables(
            "{% for i in items %}{{ i.name }}{{ a.b['c'] }}{% endfor %}{{ z | default(1) }}",
            false,
        );
        let paths: Vec<String> = vars.iter().map(|v| v.path.join(".")).collect();
        assert_eq!(paths, ["items", "a.b.c", "z"]);
        assert!(vars[2].guarded && !vars[0].guarded);
    }

    #[test]
    fn literal_names_of_a_vars_lookup_count_as_read() {
        let names: Vec<_> = variables("{{ lookup('vars', 'derived', 'base') }}", false)
            .into_iter()
            .map(|v| v.path.join("."))
            .collect();
        assert_eq!(names, ["derived", "base"]);
    }

    #[test]
    fn unknown_lookup_plugin_is_refused_with_did_you_mean() {
        let p = expression("lookup('fiel', 'x')").unwrap_err();
        assert!(
            p.message.contains("unknown lookup plugin `fiel`"),
            "{}",
            p.message
        );
        assert!(p.help.unwrap_or_default().contains("did you mean `file`"));
        assert!(template("{{ query('ansible.builtin.pipe', 'date') }}").is_err());
        assert!(expression("lookup('ansible.builtin.env', 'HOME')").is_ok());
        assert!(expression("q('first_found', ['a'])").is_ok());
    }

    #[test]
    fn unknown_function_is_refused_with_did_you_mean() {
        let p = template("{% for i in rnage(3) %}{{ i }}{% endfor %}").unwrap_err();
        assert_eq!(p.message, "unknown function `rnage`");
        assert!(p.help.unwrap_or_default().contains("did you mean `range`"));
        assert_eq!(p.range, 12..17);
        // also in a branch that never runs
        assert!(template("{% if false %}{{ lipsum() }}{% endif %}").is_err());
        assert!(expression("range(3) | list").is_ok());
        assert!(expression("dict(a=1)").is_ok());
        assert!(template("{% set ns = namespace(n=0) %}{{ ns.n }}").is_ok());
        assert!(template("{% macro m(x) %}{{ x }}{% endmacro %}{{ m(1) }}").is_ok());
        assert!(template("{% from 'h.j2' import m as k %}{{ k(1) }}").is_ok());
        assert!(template("{% import 'h.j2' as h %}{{ h.m(1) }}").is_ok());
        assert!(template("{{ 'a'.upper() }}").is_ok());
        assert!(template(
            "{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}x{% endcall %}"
        )
        .is_ok());
    }

    #[test]
    fn every_known_function_is_a_global_of_the_environment() {
        let env = super::super::env::environment();
        let globals: Vec<&str> = env.globals().map(|(k, _)| k).collect();
        for f in &FUNCTIONS[..FUNCTIONS.len() - 2] {
            assert!(globals.contains(f), "{f} is not a global");
        }
    }
}

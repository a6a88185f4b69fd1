//! Python's operators in Jinja expressions, by rewriting the source before
//! minijinja compiles it.
//!
//! Ansible's Jinja2 runs on Python, where `'5' > 3` raises `TypeError: '>'
//! not supported between instances of 'str' and 'int'` (Ansible 2.19 fails
//! the task with it), `"%s-%02d" % (a, b)` formats a string, `5 in 'abc'`
//! is an error and `dt1 - dt2` subtracts datetimes. minijinja orders values
//! of any two types silently, has no `%` for strings and no hook for
//! operators, so each `<`, `<=`, `>`, `>=`, `in`, `not in` (and a chained
//! comparison such as `0 < x <= 9`), `%`, `/`, `//` and binary `-` is rewritten into a
//! call of a global function of [`super::ops`] with the same operands, as
//! source text:
//!
//! ```text
//! x | int > 3          ->  __baton_cmp(x | int, '>', 3)
//! "%s-%d" % (a, b)     ->  __baton_mod("%s-%d", (a, b), true)
//! a not in b           ->  __baton_cmp(a, 'not in', b)
//! ```
//!
//! Operand text is cut from the original at the extent of the operand's
//! syntax tree (minijinja's node spans do not always cover their first
//! token, so an extent is the union of its leaves' spans, widened to
//! balance the brackets it cuts through, found in the token stream). The
//! rewritten text keeps a map back to the original offsets, so an error
//! points at what the user wrote. A source without such operators, or one
//! that does not parse (the caller reports the syntax error on the original),
//! is used as it is.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;

use minijinja::machinery::ast::BinOpKind;
use minijinja::machinery::ast::{CallArg, CompareOpKind, Expr, Stmt, UnaryOpKind};
use minijinja::machinery::{self, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;

/// The global functions the rewrite calls (defined in [`super::ops`]).
pub const CMP: &str = "__baton_cmp";
pub const MOD: &str = "__baton_mod";
pub const SUB: &str = "__baton_sub";
pub const CHAIN: &str = "__baton_chain";
pub const MUL: &str = "__baton_mul";
pub const ADD: &str = "__baton_add";
pub const CAT: &str = "__baton_cat";
pub const DIV: &str = "__baton_div";
pub const FLOORDIV: &str = "__baton_floordiv";
pub const POW: &str = "__baton_pow";
pub const SLICE: &str = "__baton_slice";

/// A rewritten source and the way back to the original offsets.
#[derive(Debug, Clone)]
pub struct Rewritten {
    pub text: String,
    /// Runs of text copied from the original: (offset in `text`, offset in
    /// the original, length), in order.
    pieces: Vec<(usize, usize, usize)>,
}

impl Rewritten {
    fn unchanged(text: &str) -> Rewritten {
        Rewritten {
            text: text.to_string(),
            pieces: vec![(0, 0, text.len())],
        }
    }

    /// Whether the rewrite changed anything.
    pub fn changed(&self) -> bool {
        self.pieces.len() != 1 || self.pieces[0].2 != self.text.len()
    }

    /// The original offset of a rewritten one. Inserted text maps to the
    /// start of the next copied run (`forward`) or the end of the previous
    /// one.
    fn original(&self, offset: usize, forward: bool) -> usize {
        for (i, &(new, orig, len)) in self.pieces.iter().enumerate() {
            if offset < new {
                // inside inserted text before this piece
                return if forward || i == 0 {
                    orig
                } else {
                    let (_, o, l) = self.pieces[i - 1];
                    o + l
                };
            }
            if offset < new + len || (offset == new + len && !forward) {
                return orig + (offset - new);
            }
        }
        self.pieces.last().map_or(0, |&(_, o, l)| o + l)
    }

    /// The same map for a source that sat `base` bytes into a larger text
    /// (a template after its `#jinja2:` line).
    pub fn shifted(mut self, base: usize) -> Rewritten {
        for p in &mut self.pieces {
            p.1 += base;
        }
        self
    }

    /// A range of the rewritten text as a range of the original.
    pub fn original_range(&self, r: Range<usize>) -> Range<usize> {
        let start = self.original(r.start, true);
        let end = self.original(r.end, false).max(start);
        start..end
    }
}

/// Rewritten sources by their text (default syntax): the same task
/// arguments and conditions render for every host and loop item, and a
/// rewrite costs a few times a compile. Bounded: emptied when full.
static CACHE: std::sync::LazyLock<Mutex<HashMap<(bool, String), Rewritten>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_MAX: usize = 4096;

fn cached(expr: bool, source: &str, make: impl FnOnce() -> Rewritten) -> Rewritten {
    let key = (expr, source.to_string());
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let made = make();
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(key, made.clone());
    }
    made
}

/// Rewrite a template (text with `{{ }}`, `{% %}`, `{# #}`) with the
/// default syntax.
pub fn template(source: &str) -> Rewritten {
    cached(false, source, || {
        template_with(source, &SyntaxConfig::default())
    })
}

/// Rewrite a template written with `syntax` (delimiters set by a
/// `#jinja2:` header).
pub fn template_with(source: &str, syntax: &SyntaxConfig) -> Rewritten {
    // Cheap test first: nothing to do without any of the operators.
    if !source.contains(['<', '>', '%', '-', '*', '+', '~', '/'])
        && !source.contains("in")
        && !source.contains("default")
        && !source.contains("defined")
        && !source.contains("d(")
        // a slice with a step (`x[a:b:s]`)
        && (!source.contains('[') || !source.contains(':'))
    {
        return Rewritten::unchanged(source);
    }
    // too deep to parse safely: the caller's depth check refuses it
    if super::check::depth(source, syntax.clone(), false).is_err() {
        return Rewritten::unchanged(source);
    }
    let parses = |text: &str| {
        machinery::parse(
            text,
            "<rewrite>",
            syntax.clone(),
            WhitespaceConfig::default(),
        )
        .is_ok()
    };
    let Ok(ast) = machinery::parse(
        source,
        "<rewrite>",
        syntax.clone(),
        WhitespaceConfig::default(),
    ) else {
        return Rewritten::unchanged(source);
    };
    let tokens = Tokens::new(source, syntax);
    let mut w = Walker {
        tokens: &tokens,
        source,
        edits: Vec::new(),
    };
    w.stmt(&ast);
    if w.edits.is_empty() {
        return Rewritten::unchanged(source);
    }
    let mut edits = w.edits;
    edits.sort_by(|a, b| {
        a.range
            .start
            .cmp(&b.range.start)
            .then(b.range.end.cmp(&a.range.end))
    });
    let mut out = Builder::default();
    emit(source, &edits, 0..source.len(), &mut out);
    let rewritten = Rewritten {
        text: out.text,
        pieces: out.pieces,
    };
    // The rewritten text must parse; if some construct defeated the extent
    // computation, render the original (minijinja's own semantics) rather
    // than fail a template that is valid.
    if !parses(&rewritten.text) {
        return Rewritten::unchanged(source);
    }
    rewritten
}

/// Rewrite a bare expression (a condition).
pub fn expression(source: &str) -> Rewritten {
    cached(true, source, || expression_uncached(source))
}

fn expression_uncached(source: &str) -> Rewritten {
    let wrapped = format!("{{{{ {source} }}}}");
    let r = template(&wrapped);
    if !r.changed() {
        return Rewritten::unchanged(source);
    }
    // strip the `{{ ` and ` }}` again, shifting the map by their length
    let text = r
        .text
        .get(3..r.text.len().saturating_sub(3))
        .unwrap_or_default()
        .to_string();
    let inner = 3..wrapped.len() - 3;
    let mut pieces = Vec::new();
    for (new, orig, len) in r.pieces {
        // clip each copied run to the inside of the wrapper
        let lo = orig.max(inner.start);
        let hi = (orig + len).min(inner.end);
        if lo >= hi {
            continue;
        }
        let new = new + (lo - orig);
        pieces.push((new.saturating_sub(3), lo - 3, hi - lo));
    }
    Rewritten { text, pieces }
}

#[derive(Default)]
struct Builder {
    text: String,
    pieces: Vec<(usize, usize, usize)>,
}

impl Builder {
    fn copy(&mut self, source: &str, r: Range<usize>) {
        if r.start >= r.end {
            return;
        }
        let new = self.text.len();
        self.text.push_str(&source[r.clone()]);
        match self.pieces.last_mut() {
            Some((n, o, l)) if *n + *l == new && *o + *l == r.start => *l += r.len(),
            _ => self.pieces.push((new, r.start, r.len())),
        }
    }

    fn insert(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

/// What an edit turns into.
#[derive(Debug)]
enum Kind {
    /// `__baton_cmp(a, op, b, op, c...)`
    Compare(Vec<&'static str>),
    /// `__baton_mod(a, b[, true])`: `true` when `b` is a tuple literal.
    Mod { tuple: bool },
    /// `__baton_sub(a, b)`, `__baton_mul`, `__baton_add`, `__baton_cat`:
    /// a binary operator as a call of the named function.
    Binary(&'static str),
    /// `__baton_chain(base, key...)`: an attribute or item chain read by
    /// `default` or `is (un)defined`. Each step is an attribute name
    /// (`Some`) or the next operand, a subscript (`None`).
    Chain(Vec<Option<String>>),
    /// `__baton_slice(v, start, stop, step)` for a slice with a step
    /// (`v[a:b:c]`): which of start and stop are written (the operands
    /// after `v`, then the step); a missing one is `none`.
    Slice { start: bool, stop: bool },
}

#[derive(Debug)]
struct Edit {
    range: Range<usize>,
    kind: Kind,
    operands: Vec<Range<usize>>,
}

/// Copy `source[range]` into `out`, replacing the outermost edits inside it.
fn emit(source: &str, edits: &[Edit], range: Range<usize>, out: &mut Builder) {
    let mut pos = range.start;
    for edit in edits {
        if edit.range.start < pos || edit.range.end > range.end {
            // outside this range, or inside an edit already emitted
            continue;
        }
        if edit.range.start == range.start && edit.range.end == range.end && pos > range.start {
            continue;
        }
        out.copy(source, pos..edit.range.start);
        match &edit.kind {
            Kind::Compare(ops) => {
                out.insert(CMP);
                out.insert("(");
                for (i, operand) in edit.operands.iter().enumerate() {
                    if i > 0 {
                        out.insert(&format!(", '{}', ", ops[i - 1]));
                    }
                    emit(source, edits, operand.clone(), out);
                }
                out.insert(")");
            }
            Kind::Mod { tuple } => {
                out.insert(MOD);
                out.insert("(");
                emit(source, edits, edit.operands[0].clone(), out);
                out.insert(", ");
                emit(source, edits, edit.operands[1].clone(), out);
                out.insert(if *tuple { ", true)" } else { ")" });
            }
            Kind::Chain(steps) => {
                out.insert(CHAIN);
                out.insert("(");
                let mut operands = edit.operands.iter();
                if let Some(base) = operands.next() {
                    emit(source, edits, base.clone(), out);
                }
                for step in steps {
                    out.insert(", ");
                    match step {
                        Some(name) => out.insert(&format!("'{name}'")),
                        None => {
                            if let Some(subscript) = operands.next() {
                                emit(source, edits, subscript.clone(), out);
                            }
                        }
                    }
                }
                out.insert(")");
            }
            Kind::Slice { start, stop } => {
                out.insert(SLICE);
                out.insert("(");
                let mut operands = edit.operands.iter();
                if let Some(v) = operands.next() {
                    emit(source, edits, v.clone(), out);
                }
                for written in [*start, *stop, true] {
                    out.insert(", ");
                    match if written { operands.next() } else { None } {
                        Some(part) => emit(source, edits, part.clone(), out),
                        None => out.insert("none"),
                    }
                }
                out.insert(")");
            }
            Kind::Binary(name) => {
                out.insert(name);
                out.insert("(");
                emit(source, edits, edit.operands[0].clone(), out);
                out.insert(", ");
                emit(source, edits, edit.operands[1].clone(), out);
                out.insert(")");
            }
        }
        pos = edit.range.end;
    }
    out.copy(source, pos..range.end);
}

#[derive(Clone, Copy, PartialEq)]
enum Tk {
    Open,
    Close,
    Not,
    In,
    Other,
}

/// The tokens of the source that extents need: brackets, `not` and `in`.
struct Tokens {
    list: Vec<(Tk, Range<usize>)>,
}

impl Tokens {
    fn new(source: &str, syntax: &SyntaxConfig) -> Tokens {
        let mut list = Vec::new();
        for tok in machinery::tokenize(source, false, syntax.clone(), WhitespaceConfig::default()) {
            let Ok((tok, span)) = tok else { break };
            let kind = match tok {
                Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => Tk::Open,
                Token::ParenClose | Token::BracketClose | Token::BraceClose => Tk::Close,
                Token::Ident("not") => Tk::Not,
                Token::Ident("in") => Tk::In,
                Token::TemplateData(_) => continue,
                _ => Tk::Other,
            };
            list.push((kind, span.start_offset as usize..span.end_offset as usize));
        }
        Tokens { list }
    }

    /// The smallest range around `r` whose brackets balance: an unmatched
    /// `)` inside takes in its `(` before, an unmatched `(` its `)` after.
    fn balance(&self, mut r: Range<usize>) -> Range<usize> {
        let mut open = 0usize;
        let mut unmatched_close = 0usize;
        for (k, t) in &self.list {
            if t.start < r.start || t.end > r.end {
                continue;
            }
            match k {
                Tk::Open => open += 1,
                Tk::Close if open > 0 => open -= 1,
                Tk::Close => unmatched_close += 1,
                _ => {}
            }
        }
        if unmatched_close > 0 {
            let mut depth = 0usize;
            let start = r.start;
            for (k, t) in self.list.iter().rev().filter(|(_, t)| t.end <= start) {
                match k {
                    Tk::Close => depth += 1,
                    Tk::Open if depth > 0 => depth -= 1,
                    Tk::Open => {
                        unmatched_close -= 1;
                        r.start = t.start;
                        if unmatched_close == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        if open > 0 {
            let mut depth = 0usize;
            let end = r.end;
            for (k, t) in self.list.iter().filter(|(_, t)| t.start >= end) {
                match k {
                    Tk::Open => depth += 1,
                    Tk::Close if depth > 0 => depth -= 1,
                    Tk::Close => {
                        open -= 1;
                        r.end = t.end;
                        if open == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        r
    }

    /// Whether a `not` token lies between two offsets (`a not in b`).
    fn not_between(&self, from: usize, to: usize) -> bool {
        self.list
            .iter()
            .any(|(k, t)| *k == Tk::Not && t.start >= from && t.end <= to)
    }

    /// The first token starting at or after `offset`.
    fn at(&self, offset: usize) -> Option<Tk> {
        self.list
            .iter()
            .find(|(_, t)| t.start >= offset)
            .map(|(k, _)| *k)
    }
}

fn span(s: minijinja::machinery::Span) -> Range<usize> {
    s.start_offset as usize..s.end_offset as usize
}

fn union(a: Range<usize>, b: Range<usize>) -> Range<usize> {
    a.start.min(b.start)..a.end.max(b.end)
}

struct Walker<'t> {
    tokens: &'t Tokens,
    source: &'t str,
    edits: Vec<Edit>,
}

impl Walker<'_> {
    fn stmts(&mut self, body: &[Stmt<'_>]) {
        body.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, s: &Stmt<'_>) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
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
                for (_, value) in &w.assignments {
                    self.expr(value);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(set) => self.expr(&set.expr),
            Stmt::SetBlock(set) => {
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
                m.defaults.iter().for_each(|d| self.expr(d));
                self.stmts(&m.body);
            }
            Stmt::CallBlock(c) => {
                self.expr(&c.call.expr);
                self.call_args(&c.call.args);
                c.macro_decl.defaults.iter().for_each(|d| self.expr(d));
                self.stmts(&c.macro_decl.body);
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr);
                self.call_args(&d.call.args);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Import(i) => self.expr(&i.expr),
            Stmt::FromImport(f) => self.expr(&f.expr),
            Stmt::Extends(e) => self.expr(&e.name),
            Stmt::Include(i) => self.expr(&i.name),
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

    fn call_args_extent(&self, args: &[CallArg<'_>], mut r: Range<usize>) -> Range<usize> {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => r = union(r, self.extent(e)),
            }
        }
        r
    }

    /// The source range an expression covers (see the module doc).
    fn extent(&self, e: &Expr<'_>) -> Range<usize> {
        let r = match e {
            Expr::Var(v) => span(v.span()),
            Expr::Const(c) => span(c.span()),
            Expr::List(l) => span(l.span()),
            Expr::Map(m) => span(m.span()),
            Expr::Slice(s) => {
                let mut r = union(self.extent(&s.expr), span(s.span()).end..span(s.span()).end);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    r = union(r, self.extent(part));
                }
                r
            }
            Expr::UnaryOp(u) => {
                let child = self.extent(&u.expr);
                if matches!(u.op, UnaryOpKind::Not) && self.is_not_in(&u.expr) {
                    // `a not in b`: the node's span starts at the token before `a`
                    child
                } else {
                    union(span(u.span()).start..child.start, child)
                }
            }
            Expr::BinOp(b) => union(self.extent(&b.left), self.extent(&b.right)),
            Expr::Compare(c) => c.ops.iter().fold(self.extent(&c.expr), |r, op| {
                union(r, self.extent(&op.expr))
            }),
            Expr::IfExpr(i) => {
                let mut r = union(self.extent(&i.true_expr), self.extent(&i.test_expr));
                if let Some(f) = &i.false_expr {
                    r = union(r, self.extent(f));
                }
                r
            }
            Expr::Filter(f) => {
                let own = span(f.span());
                let r = match &f.expr {
                    Some(input) => union(self.extent(input), own),
                    None => own,
                };
                self.call_args_extent(&f.args, r)
            }
            Expr::Test(t) => {
                let r = union(self.extent(&t.expr), span(t.span()));
                self.call_args_extent(&t.args, r)
            }
            Expr::GetAttr(g) => {
                let end = span(g.span()).end;
                union(self.extent(&g.expr), end..end)
            }
            Expr::GetItem(g) => {
                let end = span(g.span()).end;
                union(
                    union(self.extent(&g.expr), end..end),
                    self.extent(&g.subscript_expr),
                )
            }
            Expr::Call(c) => {
                let end = span(c.span()).end;
                let r = union(self.extent(&c.expr), end..end);
                self.call_args_extent(&c.args, r)
            }
        };
        self.tokens.balance(r)
    }

    /// `BinOp(In)` whose operator text holds a `not` (`a not in b`).
    fn is_not_in(&self, e: &Expr<'_>) -> bool {
        match e {
            Expr::BinOp(b) if matches!(b.op, BinOpKind::In) => {
                let l = self.extent(&b.left);
                let r = self.extent(&b.right);
                self.tokens.not_between(l.end, r.start)
            }
            _ => false,
        }
    }

    fn edit(&mut self, kind: Kind, operands: Vec<Range<usize>>) {
        let range = operands.iter().cloned().reduce(union).unwrap_or_default();
        let range = self.tokens.balance(range);
        self.edits.push(Edit {
            range,
            kind,
            operands,
        });
    }

    fn expr(&mut self, e: &Expr<'_>) {
        match e {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part);
                }
                // with a step, minijinja's index arithmetic can overflow (a
                // negative step past the start, a step of i64::MIN): Python's
                // slice in ops instead
                if s.step.is_some() {
                    let mut operands = vec![self.extent(&s.expr)];
                    operands.extend(
                        [&s.start, &s.stop, &s.step]
                            .into_iter()
                            .flatten()
                            .map(|p| self.extent(p)),
                    );
                    let range = self.tokens.balance(self.extent(e));
                    self.edits.push(Edit {
                        range,
                        kind: Kind::Slice {
                            start: s.start.is_some(),
                            stop: s.stop.is_some(),
                        },
                        operands,
                    });
                }
            }
            Expr::UnaryOp(u) => {
                if matches!(u.op, UnaryOpKind::Not) && self.is_not_in(&u.expr) {
                    if let Expr::BinOp(b) = &u.expr {
                        self.expr(&b.left);
                        self.expr(&b.right);
                        let ops = vec!["not in"];
                        self.edit(
                            Kind::Compare(ops),
                            vec![self.extent(&b.left), self.extent(&b.right)],
                        );
                        return;
                    }
                }
                self.expr(&u.expr)
            }
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
                let operands = || vec![self.extent(&b.left), self.extent(&b.right)];
                match b.op {
                    BinOpKind::Lt => self.edit(Kind::Compare(vec!["<"]), operands()),
                    BinOpKind::Lte => self.edit(Kind::Compare(vec!["<="]), operands()),
                    BinOpKind::Gt => self.edit(Kind::Compare(vec![">"]), operands()),
                    BinOpKind::Gte => self.edit(Kind::Compare(vec![">="]), operands()),
                    BinOpKind::In => self.edit(Kind::Compare(vec!["in"]), operands()),
                    BinOpKind::Rem => {
                        let tuple = self.is_tuple(&b.right);
                        self.edit(Kind::Mod { tuple }, operands())
                    }
                    BinOpKind::Sub => self.edit(Kind::Binary(SUB), operands()),
                    BinOpKind::Mul => self.edit(Kind::Binary(MUL), operands()),
                    BinOpKind::Add => self.edit(Kind::Binary(ADD), operands()),
                    BinOpKind::Concat => self.edit(Kind::Binary(CAT), operands()),
                    BinOpKind::Div => self.edit(Kind::Binary(DIV), operands()),
                    BinOpKind::FloorDiv => self.edit(Kind::Binary(FLOORDIV), operands()),
                    BinOpKind::Pow => self.edit(Kind::Binary(POW), operands()),
                    _ => {}
                }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                let mut operands = vec![self.extent(&c.expr)];
                let mut ops = Vec::new();
                for op in &c.ops {
                    self.expr(&op.expr);
                    operands.push(self.extent(&op.expr));
                    ops.push(match op.op {
                        CompareOpKind::Eq => "==",
                        CompareOpKind::Ne => "!=",
                        CompareOpKind::Lt => "<",
                        CompareOpKind::Lte => "<=",
                        CompareOpKind::Gt => ">",
                        CompareOpKind::Gte => ">=",
                        CompareOpKind::In => "in",
                        CompareOpKind::NotIn => "not in",
                    });
                }
                self.edit(Kind::Compare(ops), operands);
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(f) = &i.false_expr {
                    self.expr(f);
                }
            }
            Expr::Filter(f) => {
                if let Some(input) = &f.expr {
                    if !(matches!(f.name, "default" | "d") && self.chain(input)) {
                        self.expr(input);
                    }
                }
                self.call_args(&f.args);
            }
            Expr::Test(t) => {
                if !(matches!(t.name, "defined" | "undefined") && self.chain(&t.expr)) {
                    self.expr(&t.expr);
                }
                self.call_args(&t.args);
            }
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
            }
            Expr::Call(c) => {
                self.expr(&c.expr);
                self.call_args(&c.args);
            }
            Expr::List(l) => l.items.iter().for_each(|i| self.expr(i)),
            Expr::Map(m) => {
                m.keys.iter().for_each(|k| self.expr(k));
                m.values.iter().for_each(|v| self.expr(v));
            }
        }
    }

    /// An attribute/item chain (`a.b[c].d`) read by `default` or `is
    /// defined`: Ansible's undefined is chainable there (`cfg.db.port |
    /// default(5432)` gives 5432 when `cfg` has no `db`), minijinja's strict
    /// one errors at `.port`. Rewritten into a lookup that stops at the first
    /// missing step. Returns false (nothing done) when `e` is not a chain.
    fn chain(&mut self, e: &Expr<'_>) -> bool {
        enum Step<'x, 'a> {
            Attr(&'a str),
            Item(&'x Expr<'a>),
        }
        let mut steps = Vec::new();
        let mut base = e;
        loop {
            match base {
                Expr::GetAttr(g) => {
                    steps.push(Step::Attr(g.name));
                    base = &g.expr;
                }
                Expr::GetItem(g) => {
                    steps.push(Step::Item(&g.subscript_expr));
                    base = &g.expr;
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return false;
        }
        self.expr(base);
        let mut operands = vec![self.extent(base)];
        let mut names = Vec::new();
        for step in steps.into_iter().rev() {
            match step {
                Step::Attr(name) => names.push(Some(name.to_string())),
                Step::Item(subscript) => {
                    self.expr(subscript);
                    operands.push(self.extent(subscript));
                    names.push(None);
                }
            }
        }
        let range = self.extent(e);
        self.edits.push(Edit {
            range,
            kind: Kind::Chain(names),
            operands,
        });
        true
    }

    /// A tuple literal `(a, b)` (minijinja parses it as a list; Python's `%`
    /// takes a tuple's items as the arguments, a list as one argument).
    fn is_tuple(&self, e: &Expr<'_>) -> bool {
        match e {
            Expr::List(l) => {
                let s = span(l.span());
                self.source[s.start..].starts_with('(') && self.tokens.at(s.start) == Some(Tk::Open)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        expression(s).text
    }

    #[test]
    fn operators_become_calls_with_the_operands_text() {
        assert_eq!(rw("x > 3"), "__baton_cmp(x, '>', 3)");
        assert_eq!(rw("x | int >= 3"), "__baton_cmp(x | int, '>=', 3)");
        assert_eq!(rw("a.b.c < d[0]"), "__baton_cmp(a.b.c, '<', d[0])");
        assert_eq!(rw("a not in b"), "__baton_cmp(a, 'not in', b)");
        assert_eq!(rw("not a in b"), "not __baton_cmp(a, 'in', b)");
        assert_eq!(rw("0 < x <= 9"), "__baton_cmp(0, '<', x, '<=', 9)");
        assert_eq!(
            rw("'%s-%02d' % (a, b)"),
            "__baton_mod('%s-%02d', (a, b), true)"
        );
        assert_eq!(rw("'%s' % [a, b]"), "__baton_mod('%s', [a, b])");
        assert_eq!(rw("'%s' % (a)"), "__baton_mod('%s', a)");
        assert_eq!(rw("a - b - c"), "__baton_sub(__baton_sub(a, b), c)");
        assert_eq!(rw("a == b and c != d"), "a == b and c != d");
        assert_eq!(rw("'ab' * n ~ x"), "__baton_cat(__baton_mul('ab', n), x)");
        assert_eq!(rw("a + b * c"), "__baton_add(a, __baton_mul(b, c))");
        assert_eq!(rw("2 ** 3"), "__baton_pow(2, 3)");
        assert_eq!(rw("x[1:2:3]"), "__baton_slice(x, 1, 2, 3)");
        assert_eq!(rw("x[::-1]"), "__baton_slice(x, none, none, -1)");
        assert_eq!(
            rw("x[a - 1::2][0]"),
            "__baton_slice(x, __baton_sub(a, 1), none, 2)[0]"
        );
        assert_eq!(rw("x[1:2]"), "x[1:2]");
        assert_eq!(rw("-1"), "-1");
    }

    #[test]
    fn chains_read_by_default_or_defined_become_lookups() {
        assert_eq!(
            rw("cfg.db.port | default(5432)"),
            "__baton_chain(cfg, 'db', 'port') | default(5432)"
        );
        assert_eq!(
            rw("a[b.c].d is not defined"),
            "__baton_chain(a, b.c, 'd') is not defined"
        );
        assert_eq!(rw("x | d(1)"), "x | d(1)");
        assert_eq!(rw("x.y | length"), "x.y | length");
        assert_eq!(
            rw("h[i].port | default(0) > 3"),
            "__baton_cmp(__baton_chain(h, i, 'port') | default(0), '>', 3)"
        );
    }

    #[test]
    fn brackets_cut_by_an_extent_are_taken_in() {
        assert_eq!(
            rw("(a + b) | int > 3"),
            "__baton_cmp((__baton_add(a, b)) | int, '>', 3)"
        );
        assert_eq!(rw("((a)) > (b)"), "__baton_cmp(a, '>', b)");
        assert_eq!(
            rw("(x | default([])) | length > 0 and (y > 1)"),
            "__baton_cmp((x | default([])) | length, '>', 0) and (__baton_cmp(y, '>', 1))"
        );
        assert_eq!(
            rw("f(a > b, k=c < d)[0] in l"),
            "__baton_cmp(f(__baton_cmp(a, '>', b), k=__baton_cmp(c, '<', d))[0], 'in', l)"
        );
        assert_eq!(
            rw("(a not in b) > c"),
            "__baton_cmp(__baton_cmp(a, 'not in', b), '>', c)"
        );
        assert_eq!(
            rw("x is divisibleby 3 > y"),
            "__baton_cmp(x is divisibleby 3, '>', y)"
        );
    }

    #[test]
    fn templates_keep_text_and_statements() {
        let r = template("a {% if x > 1 %}{{ '%d' % x }}{% endif %} > b\n");
        assert_eq!(
            r.text,
            "a {% if __baton_cmp(x, '>', 1) %}{{ __baton_mod('%d', x) }}{% endif %} > b\n"
        );
        let r = template("{% for i in l if i > 1 %}{{ i }}{% endfor %}{# a > b #}");
        assert!(r.text.contains("if __baton_cmp(i, '>', 1)"));
        assert!(r.text.ends_with("{# a > b #}"));
        // raw blocks and text are left alone
        let r = template("{% raw %}{{ a > b }}{% endraw %} 5 > 3");
        assert!(!r.changed());
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let src = "x and y > 3";
        let r = expression(src);
        assert_eq!(r.text, "x and __baton_cmp(y, '>', 3)");
        // the whole call maps to `y > 3`
        let call = r.text.find("__baton").unwrap()..r.text.len();
        assert_eq!(&src[r.original_range(call)], "y > 3");
        // `y` inside the call maps to `y`
        let y = r.text.find("(y").unwrap() + 1;
        assert_eq!(&src[r.original_range(y..y + 1)], "y");
        assert_eq!(r.original_range(0..1), 0..1);
    }

    /// Where minijinja and Python agree, the rewritten expression gives
    /// what the original gave: the operands are cut out whole.
    #[test]
    fn rewritten_expressions_evaluate_as_the_originals() {
        let env = minijinja::Environment::new();
        let mut full = super::super::env::environment();
        full.add_global("a", 3);
        full.add_global("b", 5);
        let ctx = minijinja::context! {
            a => 3, b => 5, s => "abc", l => vec![1, 2, 3],
            m => minijinja::context! { k => 1, n => minijinja::context! { x => 7 } },
        };
        for e in [
            "a > 1",
            "a - 1 > b - 4",
            "(a - 1) * 2 >= b",
            "a > 1 and b < 9 or not a in l",
            "-a < -1",
            "a if a > b else b",
            "[a > 1, b < 1, (a, b) > (1, 2)]",
            "{'k': a > 1, 'j': b - a}",
            "l | select('gt', 1) | list | length > 1",
            "l[1:] | length > 1",
            "l[a - 2] > 1",
            "m.n.x - m.k > 5",
            "m['n']['x'] > a > 1",
            "'b' in s and 'z' not in s",
            "(l | map('string') | join('-')) in 'x1-2-3'",
            "range(a - 1) | list | length >= 2",
            "s | upper | replace('B', 'x') > 'A'",
            "(a > 1) == (b > 1)",
            "a is divisibleby 3 and a - 3 is sameas 0",
            "not a > b",
            "10 - 2 - 3",
            "a-1",
            "2 ** 3 - 1 > 6",
            "l | sum - a",
            "(l | first) - 1 < 1",
            "((a))-((b))",
            "[1, 2][0] - [3][0]",
            "7 % 3 - 1",
            "a in [1, 2, 3] and b not in (1, 2)",
        ] {
            let want = env
                .compile_expression(e)
                .unwrap()
                .eval(&ctx)
                .unwrap_or_else(|err| panic!("{e}: {err}"));
            let src = expression(e).text;
            let got = full
                .compile_expression_owned(src.clone())
                .unwrap_or_else(|err| panic!("{e} -> {src}: {err}"))
                .eval(&ctx)
                .unwrap_or_else(|err| panic!("{e} -> {src}: {err}"));
            assert_eq!(got, want, "{e} -> {src}");
        }
    }

    #[test]
    fn invalid_source_is_left_alone() {
        assert!(!template("{{ a > }}").changed());
        assert!(!expression("a >").changed());
    }
}

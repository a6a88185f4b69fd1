//! The one place that parses YAML.
//!
//! serde_yaml drops source positions once a document parses, and baton needs
//! them long after loading: an undefined variable at run time must still name
//! its file and line. So documents are read through yaml-rust2's event parser
//! into a [`Node`] tree where every value keeps its [`Origin`]. Plain scalars
//! follow YAML 1.1 typing (`yes`/`no`/`on`/`off` are booleans), as Ansible does.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::InputError;
use crate::source::{Origin, SourceFile};

/// Reading a file belongs with loading: a missing file is an input error.
impl SourceFile {
    /// Read a loaded file (playbook, inventory, vars file, `-e @file`,
    /// template). A UTF-8 byte order mark at the start is skipped, as PyYAML
    /// does; text that is not UTF-8 is refused with the byte offset and line of
    /// the first bad byte; a directory is named as one.
    pub fn read(path: &Path) -> Result<Arc<SourceFile>, InputError> {
        if path.is_dir() {
            return Err(InputError::plain(format!(
                "{} is a directory, not a file",
                path.display()
            ))
            .with_help("give the path of a YAML file inside it"));
        }
        if let Some(why) = crate::source::there_but_unreadable(path) {
            // A FIFO would block the read until something writes to it.
            return Err(InputError::plain(format!("{} {why}", path.display()))
                .with_help("give the path of a regular file"));
        }
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.len() > MAX_FILE_BYTES {
                return Err(InputError::plain(format!(
                    "{} is {} MiB; baton reads playbooks, task files, inventories and vars files of at most {} MiB",
                    path.display(),
                    meta.len() >> 20,
                    MAX_FILE_BYTES >> 20
                ))
                .with_help("is this the file you meant? split the data, or generate it on the host"));
            }
        }
        let bytes = std::fs::read(path).map_err(|e| {
            InputError::plain(format!("cannot read {}: {e}", path.display()))
                .with_help("check the path; relative paths are taken from the current directory")
        })?;
        crate::source::note_read(path);
        let text = crate::source::text_of(path, bytes)
            .map_err(|m| InputError::plain(m).with_help("save the file as UTF-8"))?;
        if let Some(at) = text.find('\0') {
            // YAML forbids it; left in, it reaches the parser as a character
            // that ends strings early and misnames the problem.
            let line = 1 + text[..at].matches('\n').count();
            return Err(InputError::plain(format!(
                "{}:{line}: a NUL byte (\\0) at byte offset {at}; YAML and INI text cannot hold one",
                path.display()
            ))
            .with_help("is this a binary file? remove the NUL byte, or write it as \"\\0\" in a double-quoted string"));
        }
        let file = SourceFile::new(path, text);
        if crate::source::is_private(path) {
            file.mark_private();
        }
        Ok(file)
    }
}

/// A YAML value with its origin.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: NodeValue,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(value: NodeValue, origin: Origin) -> Node {
        Node { value, origin }
    }

    /// The YAML type in words, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }

    /// Look up a string key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The scalar as text (strings, numbers, booleans), for keys and names.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(i) => Some(i.to_string()),
            NodeValue::Float(f) => {
                Some(non_finite_text(*f).map_or_else(|| f.to_string(), str::to_string))
            }
            NodeValue::Bool(b) => Some(b.to_string()),
            NodeValue::Null => Some(String::new()),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            // JSON has no number for infinity or NaN: they are kept as
            // Python's text for them (`inf`, `-inf`, `nan`), as a template's
            // non-finite result is (plan::jinja::native), never as null.
            NodeValue::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => Value::String(non_finite_text(*f).unwrap_or("nan").to_string()),
            },
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Wrap a JSON value as a node; every part gets the same origin.
    pub fn from_json(value: &Value, origin: &Origin) -> Node {
        let v = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => NodeValue::Str(s.clone()),
            Value::Array(a) => {
                NodeValue::Seq(a.iter().map(|v| Node::from_json(v, origin)).collect())
            }
            Value::Object(m) => NodeValue::Map(
                m.iter()
                    .map(|(k, v)| {
                        (
                            Node::new(NodeValue::Str(k.clone()), origin.clone()),
                            Node::from_json(v, origin),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(v, origin.clone())
    }
}

/// Parse a YAML file. An empty document is `Null`.
pub fn parse_file(path: &Path) -> Result<Node, InputError> {
    let file = SourceFile::read(path)?;
    parse(&file)
}

/// The largest file read as a playbook, task file, inventory or vars file
/// (64 MiB): its text, the tree and the spans kept for errors take several
/// times its size, and none of these is anywhere near it in practice.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// How deep lists and mappings may nest: the limit yaml-rust2 puts on flow
/// style (`[[[...]]]`), applied to block style too, so that a hostile file
/// ends in an error rather than a stack overflow.
pub const MAX_DEPTH: usize = 255;

/// How many nodes alias expansion (`*name`) may copy in one file. Modest
/// reuse (merge keys, a shared list) stays far below; nested aliases that
/// expand exponentially ("billion laughs") hit it long before memory runs out.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How many bytes alias expansion may copy in one file (64 MiB): the text
/// of the copied strings plus each copied node's own size. A few aliases of
/// a long string (`big: &a <20,000 chars>`, then `[*a, *a, …]` 90,000 times)
/// stay under [`MAX_ALIAS_NODES`] but would copy gigabytes.
pub const MAX_ALIAS_BYTES: usize = 64 << 20;

/// Parse the single document of a source file.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, InputError> {
    let mut docs = parse_documents(file)?;
    let whole = Origin {
        file: Arc::clone(file),
        offset: 0,
        len: file.text.len().min(1),
    };
    match docs.len() {
        0 => Ok(Node::new(NodeValue::Null, whole)),
        1 => Ok(docs.remove(0)),
        _ => Err(InputError::at(
            &docs[1].origin,
            format!("{} holds more than one YAML document", file.display_name()),
            "second document starts here",
        )
        .with_help("baton reads one document per file; remove the extra `---`")),
    }
}

/// Parse every document of a source file (`---` separated), in order (the
/// `from_yaml_all` filter).
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Node>, InputError> {
    let mut builder = TreeBuilder {
        file: Arc::clone(file),
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        error: None,
        alias_nodes: 0,
        alias_bytes: 0,
    };
    // Drive the parser event by event rather than with `Parser::load`, which
    // recurses once per nesting level and overflows the stack on deep input.
    let mut parser = Parser::new_from_str(&file.text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((ev, mark)) => {
                builder.on_event(ev, mark);
                if builder.error.is_some() {
                    break;
                }
            }
            Err(e) => {
                let m = e.marker();
                let mut offset = file.offset_of(m.line(), m.col());
                let tab = e.info().contains("tab");
                if tab {
                    offset = tab_near(&file.text, offset);
                }
                let origin = Origin {
                    file: Arc::clone(file),
                    offset,
                    len: 1,
                };
                let (label, help) = if tab {
                    (
                        "this tab",
                        "YAML indents with spaces only: replace the tab with spaces",
                    )
                } else {
                    ("here", "check indentation and quoting near this line; a value that starts with {{ must be quoted")
                };
                return Err(InputError::at(
                    &origin,
                    format!("YAML syntax error in {}: {}", file.display_name(), e.info()),
                    label,
                )
                .with_help(help));
            }
        }
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

/// Where the tab a tab error is about is. The YAML reader marks where the
/// token it was reading began, not the tab: "while scanning a plain scalar,
/// found a tab" pointed at `all` on `- hosts: all` (line 1) for a tab that
/// indents line 2. So: the tab at the mark, else the first one after it,
/// else the last one before it on its line, else the mark.
fn tab_near(text: &str, offset: usize) -> usize {
    let (before, after) = text.split_at(offset.min(text.len()));
    if let Some(i) = after.find('\t') {
        return offset + i;
    }
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    before[line_start..]
        .rfind('\t')
        .map_or(offset, |i| line_start + i)
}

/// Every string value inside `node` (mapping keys left out), into `out`.
pub fn string_values(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        NodeValue::Str(s) => out.push(s.clone()),
        NodeValue::Seq(items) => items.iter().for_each(|n| string_values(n, out)),
        NodeValue::Map(entries) => entries.iter().for_each(|(_, v)| string_values(v, out)),
        _ => {}
    }
}

/// Serialise a value as YAML text (for `--list` style output).
pub fn to_yaml_string(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# cannot render as YAML: {e}\n"))
}

enum Frame {
    Seq(Vec<Node>, Origin, usize),
    Map(MapFrame),
}

/// A mapping being read. Keys are found by a hash of their text, so a
/// mapping of n keys loads in O(n), not O(n²) (a 50,000-key `vars:` took
/// minutes with a scan per key).
struct MapFrame {
    /// Entries in order; `None` where a key merged in by `<<` was replaced
    /// by an explicit one (which goes at the end, as it was written there).
    entries: Vec<Option<(Node, Node)>>,
    /// The key waiting for its value.
    pending_key: Option<Node>,
    origin: Origin,
    anchor: usize,
    /// Scalar key text -> its entry's index.
    index: HashMap<String, usize>,
    /// Keys that came from `<<`: an explicit key overrides them.
    merged: HashSet<String>,
}

impl MapFrame {
    fn new(origin: Origin, anchor: usize) -> MapFrame {
        MapFrame {
            entries: Vec::new(),
            pending_key: None,
            origin,
            anchor,
            index: HashMap::new(),
            merged: HashSet::new(),
        }
    }

    /// The entry whose key has this text.
    fn find(&self, text: &str) -> Option<&(Node, Node)> {
        self.index
            .get(text)
            .and_then(|&i| self.entries.get(i))
            .and_then(Option::as_ref)
    }

    fn push(&mut self, key: Node, value: Node) {
        if let Some(text) = key.scalar_text() {
            self.index.insert(text, self.entries.len());
        }
        self.entries.push(Some((key, value)));
    }

    /// YAML merge key `<<: *anchor`: copy the keys this mapping lacks from
    /// the referenced mapping(s).
    ///
    /// Anything but a mapping or a list of mappings is refused, as PyYAML
    /// does ("expected a mapping or list of mappings for merging"): merging
    /// it would drop it without a word. Returns where the bad one is.
    fn merge(&mut self, source: Node) -> Result<(), Origin> {
        let sources = match source.value {
            NodeValue::Seq(items) => items,
            _ => vec![source],
        };
        if let Some(bad) = sources
            .iter()
            .find(|s| !matches!(s.value, NodeValue::Map(_)))
        {
            return Err(bad.origin.clone());
        }
        for src in sources {
            if let NodeValue::Map(src_entries) = src.value {
                for (k, v) in src_entries {
                    let text = k.scalar_text();
                    if text.as_deref().is_some_and(|t| self.index.contains_key(t)) {
                        continue;
                    }
                    if let Some(t) = text {
                        self.merged.insert(t);
                    }
                    self.push(k, v);
                }
            }
        }
        Ok(())
    }

    /// An explicit key and its value. Returns where the same key was first
    /// written when it is a duplicate.
    fn insert(&mut self, key: Node, value: Node) -> Option<String> {
        let mut duplicate = None;
        if let Some(text) = key.scalar_text() {
            if self.merged.remove(&text) {
                // An explicit key overrides one merged in from an anchor.
                if let Some(i) = self.index.remove(&text) {
                    self.entries[i] = None;
                }
            } else {
                duplicate = self.find(&text).map(|(k, _)| k.origin.describe());
            }
        }
        self.push(key, value);
        duplicate
    }

    fn into_node(self) -> (Node, usize) {
        let entries: Vec<(Node, Node)> = self.entries.into_iter().flatten().collect();
        // Point a mapping at its first key: that is where a reader looks.
        let origin = entries
            .first()
            .map_or(self.origin, |(k, _)| k.origin.clone());
        (Node::new(NodeValue::Map(entries), origin), self.anchor)
    }
}

struct TreeBuilder {
    file: Arc<SourceFile>,
    stack: Vec<Frame>,
    /// Anchored values, how many nodes each holds, how deep it nests and
    /// how many bytes it takes.
    anchors: HashMap<usize, (Node, usize, usize, usize)>,
    docs: Vec<Node>,
    error: Option<InputError>,
    /// Nodes copied by alias expansion so far (bounded by [`MAX_ALIAS_NODES`]).
    alias_nodes: usize,
    /// Bytes copied by alias expansion so far (bounded by [`MAX_ALIAS_BYTES`]).
    alias_bytes: usize,
}

impl TreeBuilder {
    fn origin(&self, mark: Marker, len: usize) -> Origin {
        let offset = self.file.offset_of(mark.line(), mark.col());
        let len = len.min(self.file.text.len().saturating_sub(offset)).max(1);
        Origin {
            file: Arc::clone(&self.file),
            offset,
            len,
        }
    }

    /// Refuse nesting deeper than [`MAX_DEPTH`] (the error stops parsing).
    fn too_deep(&mut self, origin: &Origin) -> bool {
        if self.stack.len() < MAX_DEPTH {
            return false;
        }
        self.deny_depth(origin);
        true
    }

    /// Records the first tag that cannot be honoured (see [`tag_problem`]).
    fn check_tag(&mut self, tag: &yaml_rust2::parser::Tag, target: TagTarget<'_>, origin: &Origin) {
        if self.error.is_some() {
            return;
        }
        if let Some(why) = tag_problem(tag, &target) {
            self.error = Some(InputError::at(origin, why, "tagged here"));
        }
    }

    fn deny_depth(&mut self, origin: &Origin) {
        if self.error.is_none() {
            self.error = Some(
                InputError::at(
                    origin,
                    format!(
                        "YAML syntax error in {}: recursion limit exceeded (lists and mappings nested more than {MAX_DEPTH} deep)",
                        self.file.display_name()
                    ),
                    "too deep here",
                )
                .with_help("flatten the structure; baton reads at most 255 nested levels"),
            );
        }
    }

    /// A mapping with `no_log` set (to anything but `false`: a play, block
    /// or task) marks its lines and string values on the file, so errors
    /// never show them (see [`SourceFile::add_no_log`]).
    fn note_no_log(&self, entries: &[(Node, Node)], start: usize, end: Marker) {
        let no_log = entries.iter().any(|(k, v)| {
            k.as_str() == Some("no_log") && !matches!(v.value, NodeValue::Bool(false))
        });
        if !no_log {
            return;
        }
        let text = &self.file.text;
        let end = self.file.offset_of(end.line(), end.col()).max(start);
        // The end mark is where the next token starts (the next task's `-`):
        // the mapping ends at its last character.
        let end = start + text.get(start..end).map_or(0, |t| t.trim_end().len());
        let mut values = Vec::new();
        for (_, v) in entries {
            string_values(v, &mut values);
        }
        self.file.add_no_log(start..end, values);
    }

    /// An alias whose anchor has no value yet: it is inside the very list or
    /// mapping it names (`a: &a [1, *a]`), which would contain itself
    /// (Python's YAML builds a recursive object; JSON, templates and baton
    /// cannot hold one). The error stops parsing.
    fn unknown_alias(&mut self, id: usize, mark: Marker) {
        let at = self.origin(mark, 1);
        let name = alias_name(&self.file.text, at.offset);
        let at = self.origin(mark, name.len() + 1);
        let open = self.stack.iter().find_map(|f| match f {
            Frame::Seq(_, origin, anchor) if *anchor == id => Some(origin.clone()),
            Frame::Map(map) if map.anchor == id => Some(map.origin.clone()),
            _ => None,
        });
        let error = match open {
            Some(anchor_at) => InputError::at(
                &at,
                format!(
                    "alias `*{name}` is inside the value of its own anchor `&{name}` (whose value starts at {}): a value cannot contain itself",
                    anchor_at.describe()
                ),
                "refers to the value it is part of",
            )
            .with_help(format!(
                "write the contents out, or move `&{name}` to a value that does not hold this alias"
            )),
            None => InputError::at(
                &at,
                format!("alias `*{name}` refers to no finished anchor"),
                "this alias",
            )
            .with_help(format!("define `&{name}` on a value before this alias")),
        };
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node_count(&node);
            let depth = node_depth(&node);
            let bytes = node_bytes(&node);
            self.anchors
                .insert(anchor, (node.clone(), size, depth, bytes));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(map)) => match map.pending_key.take() {
                None => {
                    if let (Some(error), None) = (key_problem(&node), &self.error) {
                        self.error = Some(error);
                    }
                    map.pending_key = Some(node);
                }
                Some(key) => {
                    if key.as_str() == Some("<<") {
                        if let (Err(at), None) = (map.merge(node), &self.error) {
                            self.error = Some(
                                InputError::at(
                                    &at,
                                    "the merge key `<<` takes a mapping or a list of mappings, not this",
                                    "not a mapping",
                                )
                                .with_help("merge an anchored mapping (`<<: *base`) or a list of them (`<<: [*a, *b]`)"),
                            );
                        }
                        return;
                    }
                    let name = key.scalar_text().unwrap_or_default();
                    let origin = key.origin.clone();
                    let duplicate = map.insert(key, node);
                    if let (Some(first), None) = (duplicate, &self.error) {
                        self.error = Some(
                            InputError::at(
                                &origin,
                                format!("duplicate key `{name}` (first defined at {first})"),
                                "defined again here",
                            )
                            .with_help(
                                "remove one of the two; YAML would silently keep only the last",
                            ),
                        );
                    }
                }
            },
        }
    }
}

/// Why a mapping key cannot be taken, if it cannot. Keys become the
/// names of JSON object members and of variables: text. A list or mapping
/// as a key (`? [a, b] : 1`) became the key `""` without a word; Python's
/// YAML loader refuses it too ("found unhashable key"). A null key (`~: 1`)
/// is Python's `None`, which ansible-core shows as `None` in one place and
/// `null` in another (`to_json`); baton has no such key and says so
/// rather than guessing.
fn key_problem(key: &Node) -> Option<InputError> {
    let found = match key.value {
        NodeValue::Seq(_) => "a sequence (list)",
        NodeValue::Map(_) => "a mapping",
        NodeValue::Null => "null",
        _ => return None,
    };
    let help = if key.is_null() {
        "quote the key if it is the text (`'~': 1`, `'null': 1`), or give it a name"
    } else {
        "use a string key; to key on several values, join them into one string (`a,b: 1`)"
    };
    Some(
        InputError::at(
            &key.origin,
            format!("a mapping key must be a string or other scalar, found {found}"),
            "this key",
        )
        .with_help(help),
    )
}

/// How many nodes a value holds (itself included). Recursion is bounded by
/// [`MAX_DEPTH`].
fn node_count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The bytes a copy of a value takes: each node's own size and its
/// strings' text (saturating). Recursion is bounded by [`MAX_DEPTH`].
fn node_bytes(node: &Node) -> usize {
    let own = std::mem::size_of::<Node>();
    match &node.value {
        NodeValue::Str(s) => own.saturating_add(s.len()),
        NodeValue::Seq(items) => items
            .iter()
            .fold(own, |sum, n| sum.saturating_add(node_bytes(n))),
        NodeValue::Map(entries) => entries.iter().fold(own, |sum, (k, v)| {
            sum.saturating_add(node_bytes(k))
                .saturating_add(node_bytes(v))
        }),
        _ => own,
    }
}

/// How many list/mapping levels a value nests (a scalar: 0).
fn node_depth(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(node_depth).max().unwrap_or(0),
        NodeValue::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| node_depth(k).max(node_depth(v)))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// The anchor name of the alias `*name` at `offset` in the text.
fn alias_name(text: &str, offset: usize) -> String {
    let rest = text.get(offset..).unwrap_or_default();
    let rest = rest.strip_prefix('*').unwrap_or(rest);
    rest.chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let quote_len = match style {
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
                    _ => 0,
                };
                let origin = self.origin(mark, text.len() + quote_len);
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| core_tag(t) && t.suffix == "str");
                let value = if style == TScalarStyle::Plain && !forced_str {
                    resolve_plain(&text)
                } else {
                    NodeValue::Str(text)
                };
                if let Some(tag) = &tag {
                    self.check_tag(tag, TagTarget::Scalar(&value), &origin);
                }
                self.push_value(Node::new(value, origin), anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                let origin = self.origin(mark, 1);
                if let Some(tag) = &tag {
                    self.check_tag(tag, TagTarget::Seq, &origin);
                }
                if self.too_deep(&origin) {
                    return;
                }
                self.stack.push(Frame::Seq(Vec::new(), origin, anchor));
            }
            Event::MappingStart(anchor, tag) => {
                let origin = self.origin(mark, 1);
                if let Some(tag) = &tag {
                    self.check_tag(tag, TagTarget::Map, &origin);
                }
                if self.too_deep(&origin) {
                    return;
                }
                self.stack.push(Frame::Map(MapFrame::new(origin, anchor)));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, origin, anchor)) = self.stack.pop() {
                    self.push_value(Node::new(NodeValue::Seq(items), origin), anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(map)) = self.stack.pop() {
                    let start = map.origin.offset;
                    let (node, anchor) = map.into_node();
                    if let NodeValue::Map(entries) = &node.value {
                        self.note_no_log(entries, start, mark);
                    }
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let origin = self.origin(mark, 1);
                let Some((node, size, depth, bytes)) = self.anchors.get(&id) else {
                    self.unknown_alias(id, mark);
                    return;
                };
                // An alias pasted inside nesting nests as deep as both.
                if self.stack.len() + depth > MAX_DEPTH {
                    self.deny_depth(&origin);
                    return;
                }
                self.alias_nodes = self.alias_nodes.saturating_add(*size);
                self.alias_bytes = self.alias_bytes.saturating_add(*bytes);
                let past = if self.alias_nodes > MAX_ALIAS_NODES {
                    Some(format!(
                        "{MAX_ALIAS_NODES} copied values (nested aliases grow exponentially)"
                    ))
                } else if self.alias_bytes > MAX_ALIAS_BYTES {
                    Some(format!("{MAX_ALIAS_BYTES} copied bytes (64 MiB; each alias copies its anchor's whole value)"))
                } else {
                    None
                };
                if let Some(past) = past {
                    let name = alias_name(&self.file.text, origin.offset);
                    let origin = self.origin(mark, name.len() + 1);
                    self.error = Some(
                        InputError::at(
                            &origin,
                            format!(
                                "alias `*{name}` of anchor `&{name}` expands the document past {past}"
                            ),
                            "this alias",
                        )
                        .with_help(format!(
                            "write the values of anchor `&{name}` out, or reuse fewer nested aliases"
                        )),
                    );
                    return;
                }
                let value = node.value.clone();
                self.push_value(Node::new(value, origin), 0);
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
    }
}

/// YAML 1.1 plain-scalar typing, the rules PyYAML (and so Ansible) applies.
/// What a tag is put on.
enum TagTarget<'a> {
    Scalar(&'a NodeValue),
    Seq,
    Map,
}

/// A tag of YAML's core schema (`!!str`, `tag:yaml.org,2002:str`).
fn core_tag(tag: &yaml_rust2::parser::Tag) -> bool {
    tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:"
}

/// Why a tag cannot be honoured, or `None` when the value is what the tag
/// says. Core-schema tags are kept where they agree with the value;
/// everything else is refused rather than dropped: PyYAML's safe loader
/// (Ansible's) refuses `!python/...`, and ignoring Ansible's `!unsafe`
/// would template a value its author marked never to be templated.
fn tag_problem(tag: &yaml_rust2::parser::Tag, target: &TagTarget<'_>) -> Option<String> {
    let name = if core_tag(tag) {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    };
    if core_tag(tag) {
        let fits = matches!(
            (tag.suffix.as_str(), target),
            ("str", TagTarget::Scalar(_))
                | ("seq", TagTarget::Seq)
                | ("map", TagTarget::Map)
                | ("int", TagTarget::Scalar(NodeValue::Int(_)))
                | (
                    "float",
                    TagTarget::Scalar(NodeValue::Float(_) | NodeValue::Int(_))
                )
                | ("bool", TagTarget::Scalar(NodeValue::Bool(_)))
                | ("null", TagTarget::Scalar(NodeValue::Null))
        );
        return (!fits).then(|| {
            format!("the YAML tag `{name}` does not fit this value; write the value as that type, or drop the tag")
        });
    }
    Some(match name.as_str() {
        "!unsafe" => "Ansible's `!unsafe` tag is not supported: baton would template this value; drop the tag and keep the braces literal with `{% raw %}...{% endraw %}`".to_string(),
        "!vault" => "this value is encrypted with ansible-vault, which baton cannot decrypt; pass the secret with `-e @file` or an environment lookup".to_string(),
        _ => format!("the YAML tag `{name}` is not supported: baton reads plain YAML, as Ansible's safe loader does"),
    })
}

fn resolve_plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return NodeValue::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return NodeValue::Bool(false)
        }
        _ => {}
    }
    let digits = text.replace('_', "");
    if let Ok(i) = digits.parse::<i64>() {
        return NodeValue::Int(i);
    }
    if let Some(hex) = digits.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return NodeValue::Int(i);
        }
    }
    if let Some(oct) = digits.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return NodeValue::Int(i);
        }
    }
    // A decimal integer past i64 (PyYAML: a Python int) keeps its digits,
    // as text, as a template's integer past 64 bits does
    // (plan::jinja::native): JSON has no integer that large, and the
    // nearest float would lose its last digits. Bounded fields (`serial`,
    // `forks`, `pause`) read numbers from text too and refuse it by its
    // size (README).
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(&digits);
    if !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && !unsigned.starts_with('0')
    {
        let sign = if digits.starts_with('-') { "-" } else { "" };
        return NodeValue::Str(format!("{sign}{unsigned}"));
    }
    resolve_float(text).map_or_else(|| NodeValue::Str(text.to_string()), NodeValue::Float)
}

/// PyYAML's YAML 1.1 float: `1.5`, `-1.`, `.5`, `6.8e+5` (an exponent needs
/// a dot before it and a sign: `1e3` and `1.0e3` are strings, as in
/// Ansible), `_` separators, sexagesimal `190:20:30.15`, `.inf`, `-.inf`,
/// `.nan`. A literal beyond f64 (`1.0e+400`) is infinity, as Python's
/// `float()` makes it. `None` when the text is not a float.
fn resolve_float(text: &str) -> Option<f64> {
    static FLOAT: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    // PyYAML's resolver pattern (yaml/resolver.py), verbatim.
    let pattern = FLOAT.get_or_init(|| {
        regex::Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .ok()
    });
    if !pattern.as_ref()?.is_match(text) {
        return None;
    }
    // PyYAML's constructor (construct_yaml_float).
    let mut value = text.replace('_', "").to_ascii_lowercase();
    let sign = if value.starts_with('-') { -1.0 } else { 1.0 };
    if value.starts_with(['-', '+']) {
        value.remove(0);
    }
    if value == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if value == ".nan" {
        return Some(f64::NAN);
    }
    if value.contains(':') {
        let mut total = 0.0;
        for part in value.split(':') {
            total = total * 60.0 + part.parse::<f64>().ok()?;
        }
        return Some(sign * total);
    }
    value.parse::<f64>().ok().map(|f| sign * f)
}

/// A float as Python's `str()` prints it where JSON has no number for it.
fn non_finite_text(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("nan")
    } else if f.is_infinite() {
        Some(if f > 0.0 { "inf" } else { "-inf" })
    } else {
        None
    }
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Node, InputError> {
        parse(&SourceFile::new("t.yml", text))
    }

    /// The message and where it points (`t.yml:LINE:COL`).
    fn err(text: &str) -> String {
        let e = parse_text(text).unwrap_err();
        format!("{} @{}", e.message, e.location.unwrap_or_default())
    }

    #[test]
    fn tags_are_honoured_or_refused_never_dropped() {
        // Core-schema tags that agree with the value are kept.
        let n =
            parse_text("a: !!str 12\nb: !!int 3\nc: !!map {x: 1}\nd: !!seq [1]\ne: !!float 2\n")
                .unwrap();
        assert_eq!(n.get("a").and_then(Node::as_str), Some("12"));
        for (text, want, line) in [
            (
                "a: !python/object:os.system ls\n",
                "the YAML tag `!python/object:os.system` is not supported",
                1,
            ),
            (
                "a: !unsafe '{{ x }}'\n",
                "`!unsafe` tag is not supported",
                1,
            ),
            (
                "a: !!int hello\n",
                "the YAML tag `!!int` does not fit this value",
                1,
            ),
            ("a: !!map [1]\n", "the YAML tag `!!map` does not fit", 1),
            (
                "a: !custom {x: 1}\n",
                "the YAML tag `!custom` is not supported",
                1,
            ),
            // A block scalar is placed at its first line of text.
            (
                "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6231\n",
                "encrypted with ansible-vault",
                2,
            ),
        ] {
            let e = err(text);
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(
                e.contains(&format!("@t.yml:{line}:")),
                "{text:?}: names line {line}: {e}"
            );
        }
    }

    #[test]
    fn a_merge_of_anything_but_mappings_is_refused_as_pyyaml_does() {
        for text in [
            "s: &s 1\nm:\n  <<: *s\n  k: 2\n",
            "m:\n  <<: [1, 2, 3]\n  k: 2\n",
            "a: &a {x: 1}\nm:\n  <<: [*a, 5]\n",
        ] {
            let e = err(text);
            assert!(
                e.contains("the merge key `<<` takes a mapping or a list of mappings"),
                "{text:?}: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Node, InputError> {
        parse(&SourceFile::new("t.yml", text))
    }

    #[test]
    fn keeps_line_of_nested_values() {
        let node = parse_text("a: 1\nb:\n  c: hello\n").unwrap();
        let c = node.get("b").unwrap().get("c").unwrap();
        assert_eq!(c.as_str(), Some("hello"));
        assert_eq!(c.origin.describe(), "t.yml:3:6");
        assert_eq!(
            &c.origin.file.text[c.origin.offset..c.origin.offset + c.origin.len],
            "hello"
        );
    }

    #[test]
    fn yaml_1_1_booleans_and_quoted_strings() {
        let node = parse_text("a: yes\nb: 'yes'\nc: 0644\nd: 1.5\ne: ~\n").unwrap();
        assert!(matches!(
            node.get("a").unwrap().value,
            NodeValue::Bool(true)
        ));
        assert_eq!(node.get("b").unwrap().as_str(), Some("yes"));
        assert!(matches!(node.get("c").unwrap().value, NodeValue::Int(644)));
        assert!(matches!(node.get("d").unwrap().value, NodeValue::Float(_)));
        assert!(node.get("e").unwrap().is_null());
    }

    #[test]
    fn floats_are_typed_as_pyyaml_types_them_and_never_become_null() {
        // Each value as ansible-core 2.19.14 (PyYAML) loads it: a float, or
        // the text itself when PyYAML does not take it as a float.
        let cases: &[(&str, serde_json::Value)] = &[
            (".inf", serde_json::json!("inf")),
            ("+.inf", serde_json::json!("inf")),
            ("-.Inf", serde_json::json!("-inf")),
            (".NaN", serde_json::json!("nan")),
            ("1.5E+400", serde_json::json!("inf")),
            ("-1.5e+400", serde_json::json!("-inf")),
            ("2.5e-400", serde_json::json!(0.0)),
            ("1.0e+3", serde_json::json!(1000.0)),
            ("1.e+5", serde_json::json!(100000.0)),
            (".5", serde_json::json!(0.5)),
            ("1.", serde_json::json!(1.0)),
            ("+1.5", serde_json::json!(1.5)),
            ("1_000.5", serde_json::json!(1000.5)),
            ("190:20:30.15", serde_json::json!(685230.15)),
            ("1e400", serde_json::json!("1e400")),
            ("1e3", serde_json::json!("1e3")),
            ("1.0e3", serde_json::json!("1.0e3")),
            ("12e03", serde_json::json!("12e03")),
            (".", serde_json::json!(".")),
            // past i64 (PyYAML: a Python int): its digits, as text, as a
            // template's integer past 64 bits
            (
                "18446744073709551615",
                serde_json::json!("18446744073709551615"),
            ),
            (
                "123456789012345678901234567890",
                serde_json::json!("123456789012345678901234567890"),
            ),
            (
                "-123_456_789_012_345_678_901_234_567_890",
                serde_json::json!("-123456789012345678901234567890"),
            ),
            (
                "+123456789012345678901234567890",
                serde_json::json!("123456789012345678901234567890"),
            ),
        ];
        for (text, want) in cases {
            let node = parse_text(&format!("a: {text}\n")).unwrap();
            assert_eq!(&node.get("a").unwrap().to_json(), want, "{text}");
        }
        let node = parse_text("a: .inf\nb: .nan\n").unwrap();
        assert!(matches!(node.get("a").unwrap().value, NodeValue::Float(f) if f == f64::INFINITY));
        assert!(matches!(node.get("b").unwrap().value, NodeValue::Float(f) if f.is_nan()));
        assert_eq!(node.get("a").unwrap().scalar_text().as_deref(), Some("inf"));
    }

    #[test]
    fn an_alias_inside_its_own_anchor_is_an_error_not_null() {
        for (text, at) in [
            ("a: &a [1, *a]\n", "t.yml:1:11"),
            ("a: &a\n  <<: *a\n", "t.yml:2:7"),
            ("a: &a\n  b: 1\n  c:\n    d: [*a]\n", "t.yml:4:9"),
        ] {
            let err = parse_text(text).unwrap_err();
            assert!(
                err.message
                    .contains("alias `*a` is inside the value of its own anchor `&a`"),
                "{}",
                err.message
            );
            assert_eq!(err.location.as_deref(), Some(at), "{text}");
        }
        // An alias after its anchor closed is fine, also inside a sibling.
        let node = parse_text("a: &a [1]\nb: [*a, *a]\n").unwrap();
        assert_eq!(
            node.get("b").unwrap().to_json(),
            serde_json::json!([[1], [1]])
        );
    }

    #[test]
    fn a_tab_error_points_at_the_tab() {
        // Was t.yml:1:10 (`all`), the token being read when the tab came.
        let err = parse_text("- hosts: all\n\tgather_facts: false\n").unwrap_err();
        assert!(err.message.contains("tab"), "{}", err.message);
        assert_eq!(err.location.as_deref(), Some("t.yml:2:1"));
        let err = parse_text("a:\n  b: 1\n  c:\n  \t- x\n").unwrap_err();
        assert!(err.message.contains("tab"), "{}", err.message);
        assert_eq!(err.location.as_deref(), Some("t.yml:4:3"));
        assert_eq!(tab_near("ab\tc", 4), 2);
        assert_eq!(tab_near("ab\nc", 4), 4);
    }

    #[test]
    fn syntax_error_names_line() {
        let err = parse_text("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.message.contains("YAML syntax error"), "{}", err.message);
        assert!(err.location.unwrap().starts_with("t.yml:"));
    }

    #[test]
    fn a_key_that_is_no_scalar_is_refused_where_it_is() {
        // `? [a, b] : 1` was the key "" without a word.
        for (text, found, at) in [
            ("m:\n  ? [a, b]\n  : 1\n", "found a sequence", "t.yml:2:5"),
            ("m:\n  ? {a: 1}\n  : 1\n", "found a mapping", "t.yml:2:6"),
            ("m:\n  x: 2\n  ~: 1\n", "found null", "t.yml:3:3"),
            ("{[a]: 1}\n", "found a sequence", "t.yml:1:2"),
        ] {
            let err = parse_text(text).unwrap_err();
            assert!(
                err.message.contains(&format!(
                    "a mapping key must be a string or other scalar, {found}"
                )),
                "{text}: {}",
                err.message
            );
            assert_eq!(err.location.as_deref(), Some(at), "{text}");
        }
        // Scalars of every kind stay keys, a quoted `~` too.
        let node = parse_text("1: a\ntrue: b\n'~': c\n1.5: d\n").unwrap();
        assert_eq!(
            node.to_json(),
            serde_json::json!({"1": "a", "true": "b", "~": "c", "1.5": "d"})
        );
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = parse_text("a: 1\na: 2\n").unwrap_err();
        assert!(err.message.contains("duplicate key `a`"));
        assert_eq!(err.location.as_deref(), Some("t.yml:2:1"));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let node = parse_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        let other = node.get("other").unwrap().to_json();
        assert_eq!(other, serde_json::json!({"x": 1, "y": 3}));
    }

    #[test]
    fn places_on_one_long_line_cost_no_walk_from_its_start() {
        // A flow mapping of 5,000 keys on one line, not ASCII: each value's
        // place used to be found by walking the line from its start (25
        // million chars stepped for this file, quadratic in its length).
        let n = 5_000;
        let body: Vec<String> = (0..n).map(|i| format!("clé{i}: {i}")).collect();
        let text = format!("{{{}}}\n", body.join(", "));
        crate::source::chars_walked(true);
        let node = parse(&SourceFile::new("flow.yml", text.as_str())).unwrap();
        let walked = crate::source::chars_walked(false);
        assert_eq!(node.as_map().map(<[_]>::len), Some(n));
        let last = &node.as_map().unwrap()[n - 1].0;
        let at = text.find(&format!("clé{}:", n - 1)).unwrap();
        assert_eq!(last.origin.offset, at);
        assert!(walked < 200 * n, "{walked} chars walked for {n} keys");
    }

    #[test]
    fn merged_keys_keep_their_order_and_explicit_keys_win_once() {
        let text = "a: &a {x: 1, y: 2, z: 3}\nb: &b {w: 0, y: 9}\nm:\n  k: 0\n  <<: [*a, *b]\n  y: 5\n  x: 6\n";
        let m = parse_text(text).unwrap();
        let keys: Vec<String> = m
            .get("m")
            .unwrap()
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.scalar_text().unwrap())
            .collect();
        // merged z and w stay where they were merged; y and x move to where
        // they were written, as before the keys were hashed
        assert_eq!(keys, ["k", "z", "w", "y", "x"]);
        assert_eq!(
            m.get("m").unwrap().to_json(),
            serde_json::json!({"k": 0, "z": 3, "w": 0, "y": 5, "x": 6})
        );
        // a merged key overridden once is then an explicit key: twice is a duplicate
        let err = parse_text("a: &a {x: 1}\nm:\n  <<: *a\n  x: 2\n  x: 3\n").unwrap_err();
        assert_eq!(
            err.message,
            "duplicate key `x` (first defined at t.yml:4:3)"
        );
        // a key written before the merge wins over the merged one
        let m = parse_text("a: &a {x: 1}\nm:\n  x: 2\n  <<: *a\n").unwrap();
        assert_eq!(m.get("m").unwrap().to_json(), serde_json::json!({"x": 2}));
    }

    #[test]
    fn block_nesting_is_capped_like_flow_nesting() {
        for text in [
            format!("{}1\n", "- ".repeat(50_000)),
            format!("{}a\n", "? ".repeat(9_000)),
            format!("{}{}\n", "[".repeat(300), "]".repeat(300)),
        ] {
            let err = parse_text(&text).unwrap_err();
            assert!(
                err.message.contains("recursion limit exceeded"),
                "{}",
                err.message
            );
            assert!(err.location.unwrap().starts_with("t.yml:1:"));
        }
        assert!(parse_text(&format!("{}1\n", "- ".repeat(MAX_DEPTH))).is_ok());
    }

    #[test]
    fn nested_aliases_are_capped_naming_the_alias() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g"])
        {
            text.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        let err = parse_text(&text).unwrap_err();
        assert!(err.message.contains("alias `*e`"), "{}", err.message);
        assert_eq!(err.location.as_deref(), Some("t.yml:6:8"));
        // Modest reuse stays fine.
        let node = parse_text("a: &a [1, 2]\nb: [*a, *a, *a]\n").unwrap();
        assert_eq!(
            node.get("b").unwrap().to_json(),
            serde_json::json!([[1, 2], [1, 2], [1, 2]])
        );
    }

    #[test]
    fn aliases_of_a_long_string_are_capped_by_bytes_naming_the_anchor() {
        // 5,000 copies of 20,000 bytes: under the value cap, 100 MB (the
        // hostile 90,000 copies run in tests/render_cap.rs under a memory limit)
        let mut text = format!("big: &a {}\nmany: [", "x".repeat(20_000));
        text.push_str(&vec!["*a"; 5_000].join(", "));
        text.push_str("]\n");
        let err = parse_text(&text).unwrap_err();
        assert!(
            err.message.contains("anchor `&a`") && err.message.contains("copied bytes"),
            "{}",
            err.message
        );
        assert!(err
            .location
            .as_deref()
            .unwrap_or("")
            .starts_with("t.yml:2:"));
        // a thousand copies of it (20 MB) are fine
        let mut text = format!("big: &a {}\nmany: [", "x".repeat(20_000));
        text.push_str(&vec!["*a"; 1000].join(", "));
        text.push_str("]\n");
        assert!(parse_text(&text).is_ok());
    }

    #[test]
    fn bom_is_skipped_and_bad_bytes_named() {
        use crate::source::text_of;
        let p = Path::new("x.yml");
        assert_eq!(
            text_of(p, b"\xEF\xBB\xBFa: 1\n".to_vec()).unwrap(),
            "a: 1\n"
        );
        let err = text_of(p, b"a: 1\nb: caf\xe9\n".to_vec()).unwrap_err();
        assert!(err.starts_with("x.yml:2:"), "{err}");
        assert!(err.contains("byte offset 11"), "{err}");
    }

    #[test]
    fn inner_origin_points_into_multiline_string() {
        let node = parse_text("msg: \"a {{b}}\"\n").unwrap();
        let o = node.get("msg").unwrap().origin.inner(1, 3, 5);
        assert_eq!(o.describe(), "t.yml:1:9");
    }
}

//! Host patterns, as in Ansible: `all`/`*`, host and group names, `a:b` (or
//! `a,b`) union, `a:&b` intersection, `a:!b` exclusion, shell wildcards
//! (`web*`, `*.example.com`, `db[12]`), `~regex`, and `group[0]` / `group[1:3]`
//! subscripts.
//!
//! Order follows Ansible: the plain terms are unioned in the order written
//! (`db:web` gives the db hosts first), a group's hosts in inventory order
//! (see `Inventory::host_names`); then every `&` term filters and every `!`
//! term removes, wherever written.
//! A pattern of only `&`/`!` terms starts from `all`. A name that matches
//! nothing selects nothing (the caller warns); `localhost`, `127.0.0.1` and
//! `::1` fall back to the implicit local host when the inventory lacks them.

// InputError (the crate's contract) is large; boxing it is the contract's call.

use std::collections::HashSet;
use std::hash::Hash;

use regex::Regex;

use crate::error::InputError;
use crate::source::{Origin, SourceFile};

use super::glob::Glob;
use super::model::{is_localhost_name, Inventory};
use super::pattern_syntax::{split_subscript, split_terms, Op, Problem, Term};

impl Inventory {
    /// Hosts matching an Ansible host pattern (see the module docs), in
    /// Ansible's order. Errors name the offending term.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InputError> {
        select(self, pattern, None)
    }

    /// [`Inventory::select`] for a pattern read from a file (a play's `hosts:`),
    /// so that an error points into that file.
    pub fn select_at(&self, pattern: &str, origin: &Origin) -> Result<Vec<String>, InputError> {
        select(self, pattern, Some(origin))
    }

    /// The terms of `pattern` that match no host, as written (without `&`
    /// or `!`): ansible-core warns `Could not match supplied host pattern,
    /// ignoring: TERM` for each and goes on with the others. A pattern that
    /// does not parse has none here ([`Inventory::select`] names its error).
    pub fn unmatched_terms(&self, pattern: &str) -> Vec<String> {
        let Ok(terms) = split_terms(pattern) else {
            return Vec::new();
        };
        terms
            .iter()
            .filter(|t| match_term(self, t, t.op == Op::Union).is_ok_and(|m| m.is_empty()))
            .map(|t| t.body.to_string())
            .collect()
    }

    /// Keep in `hosts` (order unchanged) only those `pattern` selects: what
    /// `-l/--limit` does to a play's hosts. Linear in both lists (a list
    /// lookup per host made `-l` over 100,000 hosts take 14 s).
    pub fn retain_selected(
        &self,
        hosts: &mut Vec<String>,
        pattern: &str,
    ) -> Result<(), InputError> {
        let allowed = self.select(pattern)?;
        retain_in(hosts, &allowed);
        Ok(())
    }
}

/// Keep in `items` those in `allowed`, through a hash set: O(items + allowed).
fn retain_in<T: Eq + Hash>(items: &mut Vec<T>, allowed: &[T]) {
    let allowed: HashSet<&T> = allowed.iter().collect();
    items.retain(|item| allowed.contains(item));
}

fn select(
    inv: &Inventory,
    pattern: &str,
    origin: Option<&Origin>,
) -> Result<Vec<String>, InputError> {
    evaluate(inv, pattern).map_err(|p| problem_error(pattern, origin, p))
}

fn problem_error(pattern: &str, origin: Option<&Origin>, problem: Problem) -> InputError {
    let place = match origin {
        // Point inside the file's `hosts:` value.
        Some(origin) => {
            let col = pattern
                .get(..problem.offset)
                .map_or(0, |s| s.chars().count())
                + 1;
            origin.inner(1, col, problem.len)
        }
        None => Origin {
            file: SourceFile::new("host pattern", pattern.to_string()),
            offset: problem.offset.min(pattern.len()),
            len: problem.len.max(1),
        },
    };
    InputError::at(&place, problem.message, "here").with_help(problem.help)
}

fn evaluate(inv: &Inventory, pattern: &str) -> Result<Vec<String>, Problem> {
    let terms = split_terms(pattern)?;
    if terms.is_empty() {
        return Err(Problem {
            offset: 0,
            len: pattern.len(),
            message: "the host pattern is empty".into(),
            help: "name hosts or groups, or use `all`",
        });
    }
    let mut selected: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let unions: Vec<&Term> = terms.iter().filter(|t| t.op == Op::Union).collect();
    if unions.is_empty() {
        selected = inv.host_names();
        seen.extend(selected.iter().cloned());
    }
    for term in unions {
        for host in match_term(inv, term, true)? {
            if seen.insert(host.clone()) {
                selected.push(host);
            }
        }
    }
    for op in [Op::Intersect, Op::Exclude] {
        for term in terms.iter().filter(|t| t.op == op) {
            let matched: HashSet<String> = match_term(inv, term, false)?.into_iter().collect();
            selected.retain(|h| matched.contains(h) == (op == Op::Intersect));
        }
    }
    Ok(selected)
}

/// Hosts one term selects, in Ansible's order: the hosts of each matching
/// group (in inventory order), then matching host names (in the order first
/// named), each once. A subscript indexes that list.
fn match_term(inv: &Inventory, term: &Term, plain_union: bool) -> Result<Vec<String>, Problem> {
    let body = term.body;
    // An exact host name wins over a group of the same name, as in Ansible.
    if plain_union && inv.contains_host(body) {
        return Ok(vec![body.to_string()]);
    }
    let mut positions: Vec<usize> = Vec::new();
    let add_group = |positions: &mut Vec<usize>, gi: usize| {
        positions.extend_from_slice(inv.group_member_positions(gi));
    };
    if let Some(expression) = body.strip_prefix('~') {
        let regex = Regex::new(&format!("^(?:{expression})")).map_err(|e| Problem {
            offset: term.offset,
            len: body.len(),
            message: format!("invalid regular expression `{expression}` in host pattern: {e}"),
            help:
                "`~` starts a regular expression matched against the start of host and group names",
        })?;
        for (gi, group) in inv.groups().iter().enumerate() {
            if regex.is_match(&group.name) {
                add_group(&mut positions, gi);
            }
        }
        for (hi, host) in inv.hosts().iter().enumerate() {
            if regex.is_match(&host.name) {
                positions.push(hi);
            }
        }
        return Ok(names_once(inv, positions));
    }

    let (expression, subscript) = split_subscript(body);
    let glob = Glob::new(expression);
    let mut matched_group = false;
    for (gi, group) in inv.groups().iter().enumerate() {
        if glob.matches(&group.name) {
            matched_group = true;
            add_group(&mut positions, gi);
        }
    }
    if !matched_group || expression.contains(['.', '?', '*', '[']) {
        for (hi, host) in inv.hosts().iter().enumerate() {
            if glob.matches(&host.name) {
                positions.push(hi);
            }
        }
    }
    let mut hosts = names_once(inv, positions);
    if hosts.is_empty() && is_localhost_name(expression) {
        // Ansible reuses a localhost-like host the inventory has, else makes one.
        let existing = inv.hosts().iter().find(|h| is_localhost_name(&h.name));
        hosts.push(existing.map_or(expression, |h| &h.name).to_string());
    }
    Ok(match subscript {
        None => hosts,
        Some(sub) => sub.apply(hosts),
    })
}

/// Names for host positions, each once, first occurrence kept.
fn names_once(inv: &Inventory, positions: Vec<usize>) -> Vec<String> {
    let mut seen = HashSet::new();
    positions
        .into_iter()
        .filter(|&i| seen.insert(i))
        .map(|i| inv.hosts()[i].name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    /// Expected results below match `ansible HOSTS --list-hosts` (ansible-core
    /// 2.19) on this inventory.
    fn inventory() -> Inventory {
        let text = "\
all:
  hosts:
    solo:
  children:
    prod:
      children:
        web:
          hosts:
            web1.example.com:
            web2.example.com:
        db:
          hosts:
            db1:
            db2:
    staging:
      hosts:
        stg1:
        web2.example.com:
    backup:
      hosts:
        bc1:
        bc2:
";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.yml");
        std::fs::write(&path, text).unwrap();
        let inv = Inventory::load(&[path]).unwrap();
        drop(dir);
        inv
    }

    fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
        inv.select(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {}", e.message))
    }

    /// A value that counts its equality comparisons.
    struct Counted(usize, std::rc::Rc<std::cell::Cell<usize>>);

    impl std::hash::Hash for Counted {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.0.hash(state);
        }
    }

    impl PartialEq for Counted {
        fn eq(&self, other: &Self) -> bool {
            self.1.set(self.1.get() + 1);
            self.0 == other.0
        }
    }
    impl Eq for Counted {}

    #[test]
    fn a_limit_filters_hosts_in_comparisons_linear_in_them() {
        // `-l` over 100,000 hosts looked each host up in the list of the
        // limit's hosts: 2 billion name comparisons, 14 s.
        let comparisons = std::rc::Rc::new(std::cell::Cell::new(0));
        let n = 4_000;
        let counted = |i: usize| Counted(i, std::rc::Rc::clone(&comparisons));
        let mut hosts: Vec<Counted> = (0..n).map(counted).collect();
        let allowed: Vec<Counted> = (0..n).filter(|i| i % 2 == 0).rev().map(counted).collect();
        retain_in(&mut hosts, &allowed);
        let kept: Vec<usize> = hosts.iter().map(|h| h.0).collect();
        assert_eq!(kept, (0..n).step_by(2).collect::<Vec<_>>(), "order kept");
        assert!(
            comparisons.get() < 4 * n,
            "{} comparisons for {n} hosts",
            comparisons.get()
        );
    }

    #[test]
    fn a_limit_keeps_the_plays_hosts_it_selects_in_their_order() {
        let inv = inventory();
        let mut hosts = sel(&inv, "all");
        inv.retain_selected(&mut hosts, "prod:!db2:solo").unwrap();
        assert_eq!(
            hosts,
            ["solo", "web2.example.com", "web1.example.com", "db1"]
        );
        assert!(inv.retain_selected(&mut hosts, "web[").is_err());
    }

    #[test]
    fn all_and_star_select_every_host_in_inventory_order() {
        let inv = inventory();
        // Level by level: all's own hosts, its children's, then grandchildren's.
        let everyone = [
            "solo",
            "stg1",
            "web2.example.com",
            "bc1",
            "bc2",
            "web1.example.com",
            "db1",
            "db2",
        ];
        assert_eq!(sel(&inv, "all"), everyone);
        assert_eq!(sel(&inv, "*"), everyone);
    }

    #[test]
    fn names_groups_and_nested_groups() {
        let inv = inventory();
        assert_eq!(sel(&inv, "db1"), ["db1"]);
        assert_eq!(sel(&inv, "web"), ["web1.example.com", "web2.example.com"]);
        assert_eq!(
            sel(&inv, "prod"),
            ["web1.example.com", "web2.example.com", "db1", "db2"]
        );
        assert_eq!(sel(&inv, "ungrouped"), ["solo"]);
        assert!(sel(&inv, "nosuch").is_empty());
    }

    #[test]
    fn union_keeps_term_order() {
        let inv = inventory();
        assert_eq!(
            sel(&inv, "db:web"),
            ["db1", "db2", "web1.example.com", "web2.example.com"]
        );
        assert_eq!(sel(&inv, "db2,db1, solo"), ["db2", "db1", "solo"]);
        assert_eq!(sel(&inv, "db:db1"), ["db1", "db2"], "no duplicates");
    }

    #[test]
    fn intersection_and_exclusion() {
        let inv = inventory();
        assert_eq!(sel(&inv, "web:&staging"), ["web2.example.com"]);
        assert_eq!(
            sel(&inv, "prod:!db"),
            ["web1.example.com", "web2.example.com"]
        );
        assert_eq!(
            sel(&inv, "prod:!web2.example.com:&web"),
            ["web1.example.com"]
        );
        assert_eq!(
            sel(&inv, "!prod:!backup"),
            ["solo", "stg1"],
            "only exclusions start from all"
        );
        assert_eq!(sel(&inv, "&staging"), ["stg1", "web2.example.com"]);
    }

    #[test]
    fn wildcards_and_regex() {
        let inv = inventory();
        assert_eq!(sel(&inv, "bc*"), ["bc1", "bc2"]);
        assert_eq!(
            sel(&inv, "*.example.com"),
            ["web1.example.com", "web2.example.com"]
        );
        assert_eq!(sel(&inv, "d[ab]?"), ["db1", "db2"]);
        assert!(
            sel(&inv, "db[12]").is_empty(),
            "`[12]` is a subscript, as in Ansible"
        );
        assert_eq!(sel(&inv, "db?"), ["db1", "db2"]);
        assert_eq!(sel(&inv, "d*:!db2"), ["db1"]);
        assert_eq!(sel(&inv, "~(web|db)1"), ["web1.example.com", "db1"]);
        assert_eq!(
            sel(&inv, "~st"),
            ["stg1", "web2.example.com"],
            "regex matches group `staging`"
        );
        assert_eq!(sel(&inv, "[!w]*1"), ["db1", "stg1", "bc1"]);
    }

    #[test]
    fn subscripts_index_the_term_in_inventory_order() {
        let inv = inventory();
        assert_eq!(sel(&inv, "prod[0]"), ["web1.example.com"]);
        assert_eq!(sel(&inv, "prod[-1]"), ["db2"]);
        assert_eq!(sel(&inv, "prod[1:2]"), ["web2.example.com", "db1"]);
        assert_eq!(sel(&inv, "prod[2:]"), ["db1", "db2"]);
        assert!(sel(&inv, "prod[9]").is_empty());
        assert_eq!(sel(&inv, "web[0]:db[1]"), ["web1.example.com", "db2"]);
    }

    #[test]
    fn localhost_is_implicit_unless_the_inventory_has_one() {
        let inv = inventory();
        assert_eq!(sel(&inv, "localhost"), ["localhost"]);
        assert_eq!(
            sel(&inv, "web1.example.com:localhost"),
            ["web1.example.com", "localhost"]
        );
        assert!(!sel(&inv, "all").contains(&"localhost".to_string()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.ini");
        std::fs::write(&path, "127.0.0.1\n").unwrap();
        let inv = Inventory::load(&[path]).unwrap();
        assert_eq!(sel(&inv, "localhost"), ["127.0.0.1"]);
    }

    #[test]
    fn ipv6_terms_keep_their_colons() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.ini");
        std::fs::write(&path, "fe80::1\n[v4]\n10.0.0.1\n").unwrap();
        let inv = Inventory::load(&[path]).unwrap();
        assert_eq!(sel(&inv, "fe80::1"), ["fe80::1"]);
        assert_eq!(sel(&inv, "fe80::1,v4"), ["fe80::1", "10.0.0.1"]);
        assert_eq!(sel(&inv, "all:!fe80::1"), ["10.0.0.1"]);
    }

    #[test]
    fn malformed_patterns_are_errors_pointing_at_the_term() {
        let inv = inventory();
        for (pattern, message, column) in [
            ("", "empty", 1),
            ("web:&", "must be followed", 5),
            ("web:!&db", "more than one", 5),
            ("web[0", "never closed", 4),
            ("web]", "without a matching", 4),
            ("~web(", "invalid regular expression", 1),
        ] {
            let err = inv.select(pattern).unwrap_err();
            assert!(err.message.contains(message), "{pattern}: {}", err.message);
            assert_eq!(
                err.location,
                Some(format!("host pattern:1:{column}")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn errors_point_into_the_file_the_pattern_came_from() {
        let inv = inventory();
        let file = SourceFile::new("play.yml", "- hosts: \"web:&\"\n".to_string());
        let node = yaml::parse(&file).unwrap();
        let hosts = node.as_seq().unwrap()[0].get("hosts").unwrap();
        let err = inv
            .select_at(hosts.as_str().unwrap(), &hosts.origin)
            .unwrap_err();
        assert_eq!(err.location.as_deref(), Some("play.yml:1:15"));
    }
}

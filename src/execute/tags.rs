//! Tag selection (`-t`, `--skip-tags`), with Ansible's special tags:
//! `always` runs unless skipped by name, `never` runs only when asked for by
//! name, `all` selects every untagged-or-tagged task except `never`,
//! `tagged` and `untagged` select by whether a task has tags.

#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    only: Vec<String>,
    skip: Vec<String>,
}

fn split(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl TagFilter {
    pub fn new(only: &[String], skip: &[String]) -> TagFilter {
        TagFilter {
            only: split(only),
            skip: split(skip),
        }
    }

    /// Whether a task runs: its own tags are selected, and so were the tags
    /// of every `include_tasks`/`include_role` that brought it in.
    pub fn selects_task(&self, common: &crate::load::task::TaskCommon) -> bool {
        self.selects(&common.tags) && common.includes.iter().all(|g| self.selects(&g.tags))
    }

    pub fn selects(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let named = |list: &[String]| {
            list.iter().any(|sel| match sel.as_str() {
                "all" => !has("never"),
                "tagged" => !tags.is_empty() && !has("never"),
                "untagged" => tags.is_empty(),
                other => has(other),
            })
        };
        if !self.skip.is_empty() && named(&self.skip) {
            return false;
        }
        if has("always") {
            return true;
        }
        if self.only.is_empty() {
            return !has("never");
        }
        named(&self.only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn special_tags() {
        let none = TagFilter::new(&[], &[]);
        assert!(none.selects(&t(&[])));
        assert!(none.selects(&t(&["vip"])));
        assert!(!none.selects(&t(&["never"])));
        let vip = TagFilter::new(&t(&["vip"]), &[]);
        assert!(vip.selects(&t(&["vip", "x"])));
        assert!(!vip.selects(&t(&["replication"])));
        assert!(!vip.selects(&t(&[])));
        assert!(vip.selects(&t(&["always"])));
        assert!(TagFilter::new(&t(&["never"]), &[]).selects(&t(&["never"])));
        let skip = TagFilter::new(&[], &t(&["vip"]));
        assert!(!skip.selects(&t(&["vip"])));
        assert!(skip.selects(&t(&["replication"])));
        assert!(!TagFilter::new(&[], &t(&["always"])).selects(&t(&["always"])));
        assert!(TagFilter::new(&t(&["untagged"]), &[]).selects(&t(&[])));
        assert!(TagFilter::new(&t(&["a,b"]), &[]).selects(&t(&["b"])));
    }

    #[test]
    fn a_task_brought_in_by_an_include_needs_the_include_selected_too() {
        let common = |own: &[&str], gates: &[&[&str]]| crate::load::task::TaskCommon {
            tags: t(own),
            includes: gates
                .iter()
                .map(|g| crate::load::task::IncludeGate { id: 0, tags: t(g) })
                .collect(),
            ..Default::default()
        };
        let web = TagFilter::new(&t(&["web"]), &[]);
        assert!(web.selects_task(&common(&["web"], &[])));
        assert!(!web.selects_task(&common(&[], &[&["web"]])));
        assert!(web.selects_task(&common(&["web"], &[&["web"]])));
        assert!(!web.selects_task(&common(&["web"], &[&[]])));
        assert!(web.selects_task(&common(&["web"], &[&["always"]])));
        let none = TagFilter::new(&[], &[]);
        assert!(none.selects_task(&common(&[], &[&["web"], &[]])));
        let skip = TagFilter::new(&[], &t(&["web"]));
        assert!(!skip.selects_task(&common(&[], &[&["web"]])));
    }
}

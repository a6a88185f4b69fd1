//! `group`: a local group, through the host's `groupadd`, `groupmod` and
//! `groupdel`, as Ansible's `group` module does on Linux.
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/group_module.html
//!
//! Facts first: `getent group NAME`, then only the command that changes what
//! differs (create, a new `gid`, delete). As in Ansible, `system` matters
//! only when the group is created. Not done (refused at load as unknown
//! arguments): `force`, `local`, `non_unique`, `gid_min`, `gid_max`.
//!
//! Round trips: 1 when nothing changes (or in check mode), 2 otherwise.

use serde_json::json;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::tool;
use crate::modules::system::user::{getent_lines, read_failure, Group as Entry};
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::transport::ExecOutput;

pub struct Group;

static SPEC: ModuleSpec = ModuleSpec {
    name: "group",
    args: &[
        ArgSpec::required("name"),
        ArgSpec::optional("gid"),
        ArgSpec::optional("system"),
        ArgSpec::optional("state").choices(&["present", "absent"]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

#[derive(Debug, Clone)]
struct Want {
    name: String,
    gid: Option<String>,
    system: bool,
    present: bool,
}

impl Want {
    /// The command's words, or `None` when the group is already as wanted.
    fn plan(&self, current: Option<&Entry>) -> Option<Vec<String>> {
        let mut words = match (current, self.present) {
            (None, false) => return None,
            (Some(_), false) => vec!["groupdel".to_string()],
            (None, true) => {
                let mut w = vec!["groupadd".to_string()];
                if let Some(gid) = &self.gid {
                    w.extend(["-g".into(), gid.clone()]);
                }
                if self.system {
                    w.push("-r".into());
                }
                w
            }
            (Some(g), true) => match &self.gid {
                Some(gid) if *gid != g.gid => {
                    vec!["groupmod".to_string(), "-g".into(), gid.clone()]
                }
                _ => return None,
            },
        };
        words.push(self.name.clone());
        Some(words)
    }

    fn describe(&self, entry: Option<&Entry>) -> String {
        match entry {
            None => format!("group: {}\nstate: absent\n", self.name),
            Some(g) => format!("group: {}\nstate: present\ngid: {}\n", self.name, g.gid),
        }
    }

    /// Ansible's return values: `name`, `state`, `system`, and `gid` when
    /// the group exists.
    fn result(&self, mut r: TaskResult, entry: Option<&Entry>) -> TaskResult {
        r.data.insert("name".into(), json!(self.name));
        let state = if self.present { "present" } else { "absent" };
        r.data.insert("state".into(), json!(state));
        r.data.insert("system".into(), json!(self.system));
        if let Some(g) = entry.filter(|_| self.present) {
            let gid = g.gid.parse::<u64>().map(Into::into).unwrap_or(json!(g.gid));
            r.data.insert("gid".into(), gid);
        }
        r
    }
}

fn read_entry(answer: &Answer) -> Result<Option<Entry>, Box<TaskResult>> {
    if let Some(r) = read_failure(answer) {
        return Err(Box::new(r));
    }
    match answer.block("entry") {
        None => Ok(None),
        Some(line) => Entry::parse(line.trim_end()).map(Some).ok_or_else(|| {
            Box::new(TaskResult::failed(format!(
                "getent group printed an entry baton cannot read: {:?}",
                line.trim_end()
            )))
        }),
    }
}

impl Module for Group {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let name = r.required_string("name")?;
        if name.is_empty()
            || name.starts_with('-')
            || name.contains(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '/')
        {
            return Err(ModuleError::Args(format!(
                "argument `name` is not a valid group name: {name:?}"
            )));
        }
        let want = Want {
            name,
            gid: r
                .integer("gid", 0..=i64::from(u32::MAX - 1))?
                .map(|n| n.to_string()),
            system: r.bool("system", false)?,
            present: r.choice("state")?.as_deref() != Some("absent"),
        };
        let nonce = ctx.nonce.to_string();
        let (check, diff) = (ctx.check_mode, ctx.diff);
        let mut script = prelude(&nonce);
        script.push_str(&tool::require("getent"));
        script.push_str(&getent_lines("entry", "group", &want.name));
        script.push_str("_b done 1\n");
        // The same lock as `user`: useradd writes /etc/group too, and the
        // shadow tools fail (not wait) on each other's lock.
        Ok(Step::Exclusive(
            "/etc/passwd".into(),
            Box::new(Step::Remote {
                script,
                interpret: Box::new(move |out| after_read(want, out, &nonce, check, diff)),
            }),
        ))
    }
}

fn after_read(want: Want, out: &ExecOutput, nonce: &str, check: bool, diff: bool) -> Step {
    let answer = Answer::parse(out, nonce);
    let current = match read_entry(&answer) {
        Ok(c) => c,
        Err(r) => return Step::Done(*r),
    };
    let Some(words) = want.plan(current.as_ref()) else {
        return Step::Done(want.result(TaskResult::ok(), current.as_ref()));
    };
    let file_diff = diff.then(|| FileDiff {
        path: format!("group {}", want.name),
        before: want.describe(current.as_ref()),
        after: if want.present {
            match &want.gid {
                Some(gid) => format!("group: {}\nstate: present\ngid: {gid}\n", want.name),
                None => format!("group: {}\nstate: present\n", want.name),
            }
        } else {
            want.describe(None)
        },
    });
    if check {
        let mut r = want.result(TaskResult::changed(), current.as_ref());
        r.diff.extend(file_diff);
        return Step::Done(r);
    }
    let tool_name = words[0].clone();
    let mut s = prelude(nonce);
    s.push_str(&tool::require(&tool_name));
    s.push_str(&tool::run(&tool_name, &tool::command_line(&words)));
    s.push_str(&getent_lines("entry", "group", &want.name));
    s.push_str("_b done 1\n");
    let nonce = nonce.to_string();
    Step::Remote {
        script: s,
        interpret: Box::new(move |out| {
            let answer = Answer::parse(out, &nonce);
            let after = match read_entry(&answer) {
                Ok(c) => c,
                Err(r) => return Step::Done(*r),
            };
            let mut r = want.result(TaskResult::changed(), after.as_ref());
            r.diff.extend(file_diff);
            Step::Done(r)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, Ctx};
    use crate::modules::system::user::fake;
    use crate::modules::Status;
    use serde_json::Value;

    fn run_env(args: Value, check: bool, path: &str) -> TaskResult {
        let args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = TaskContext {
            host: "h",
            check_mode: check,
            diff: true,
            nonce: "gr0up",
            search_paths: &[],
            eval: &ctx.eval,
        };
        finish_with_env(Group.prepare(&args, &context).unwrap(), &[("PATH", path)]).0
    }

    fn entry(dir: &std::path::Path, name: &str) -> Option<String> {
        fake::file(dir, "group")
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .map(str::to_string)
    }

    #[test]
    fn groups_are_created_renumbered_and_deleted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let args = json!({"name": "hvr", "gid": 3001});
        let dry = run_env(args.clone(), true, &path);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, "group: hvr\nstate: present\ngid: 3001\n");
        assert_eq!(entry(dir.path(), "hvr"), None, "check mode changed nothing");
        let first = run_env(args.clone(), false, &path);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(first.data["gid"], 3001);
        assert_eq!(entry(dir.path(), "hvr").as_deref(), Some("hvr:x:3001:"));
        assert_eq!(run_env(args, false, &path).status, Status::Ok);
        // No gid: an existing group is left as it is.
        assert_eq!(
            run_env(json!({"name": "hvr"}), false, &path).status,
            Status::Ok
        );

        let moved = json!({"name": "hvr", "gid": "3002"});
        assert_eq!(run_env(moved.clone(), true, &path).status, Status::Changed);
        assert_eq!(entry(dir.path(), "hvr").as_deref(), Some("hvr:x:3001:"));
        assert_eq!(run_env(moved.clone(), false, &path).status, Status::Changed);
        assert_eq!(entry(dir.path(), "hvr").as_deref(), Some("hvr:x:3002:"));
        assert_eq!(run_env(moved, false, &path).status, Status::Ok);

        let gone = json!({"name": "hvr", "state": "absent"});
        assert_eq!(run_env(gone.clone(), true, &path).status, Status::Changed);
        assert!(entry(dir.path(), "hvr").is_some());
        assert_eq!(run_env(gone.clone(), false, &path).status, Status::Changed);
        assert_eq!(entry(dir.path(), "hvr"), None);
        assert_eq!(run_env(gone, false, &path).status, Status::Ok);
    }

    #[test]
    fn system_groups_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let r = run_env(json!({"name": "svc", "system": true}), false, &path);
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert!(r.data["gid"].as_u64().unwrap() < 1000, "{r:?}");
        // gid 0 is root's: groupadd refuses and baton quotes it.
        let r = run_env(json!({"name": "dup", "gid": 0}), false, &path);
        assert_eq!(r.status, Status::Failed);
        assert!(r
            .msg
            .unwrap()
            .starts_with("groupadd failed (exit status 4): "));
        assert!(prepare_error(&Group, json!({"name": "a:b"})).contains("not a valid group name"));
        assert!(prepare_error(&Group, json!({"name": "a", "gid": "x"})).contains("`gid`"));
    }
}

//! `user`: a local user account, through the host's `useradd`, `usermod`
//! and `userdel` (shadow-utils), as Ansible's `user` module does on Linux.
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/user_module.html
//!
//! Facts first: one script reads the account (`getent passwd`), the groups
//! (`getent group`) and, when `password` is given, the hash (`getent
//! shadow`); the controller compares them with the arguments and sends only
//! the command that changes what differs. Ansible's rules kept here:
//! `system` and `create_home` matter only when the account is created;
//! `groups` with `append: false` sets exactly those supplementary groups
//! (`groups: ''` removes all), with `append: true` only adds; a `group` or
//! `groups` entry that does not exist fails ("Group X does not exist"),
//! except in check mode, where the task is reported changed with a message
//! that the group does not exist yet (an earlier task may create it); the
//! primary group is not counted as a supplementary one.
//!
//! Not done (refused at load as unknown arguments): `expires`,
//! `update_password`, `move_home`, `non_unique`, `password_lock`, `skeleton`,
//! `generate_ssh_key` and the `ssh_key_*` options, `local`, `seuser`,
//! `umask`, `password_expire_*`, `uid_min`/`uid_max`, and the BSD/macOS/
//! Solaris options. An existing account whose home directory is missing is
//! not given one (Ansible creates it when `create_home` is true).
//!
//! Round trips: 1 when nothing changes (or in check mode), 2 otherwise.

use serde_json::{json, Map, Value};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::tool;
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct User;

static SPEC: ModuleSpec = ModuleSpec {
    name: "user",
    args: &[
        ArgSpec::required("name").aliases(&["user"]),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("uid"),
        ArgSpec::optional("group"),
        ArgSpec::optional("groups"),
        ArgSpec::optional("append"),
        ArgSpec::optional("home"),
        ArgSpec::optional("shell"),
        ArgSpec::optional("system"),
        ArgSpec::optional("create_home").aliases(&["createhome"]),
        ArgSpec::optional("remove"),
        ArgSpec::optional("force"),
        ArgSpec::optional("comment"),
        ArgSpec::optional("password"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// One `getent passwd` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Account {
    pub uid: String,
    pub gid: String,
    pub comment: String,
    pub home: String,
    pub shell: String,
}

/// One `getent group` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub name: String,
    pub gid: String,
    pub members: Vec<String>,
}

impl Account {
    pub fn parse(line: &str) -> Option<Account> {
        let f: Vec<&str> = line.trim_end_matches('\n').split(':').collect();
        if f.len() != 7 {
            return None;
        }
        Some(Account {
            uid: f[2].into(),
            gid: f[3].into(),
            comment: f[4].into(),
            home: f[5].into(),
            shell: f[6].into(),
        })
    }
}

impl Group {
    pub fn parse(line: &str) -> Option<Group> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 4 {
            return None;
        }
        Some(Group {
            name: f[0].into(),
            gid: f[2].into(),
            members: f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// Every entry of a `getent group` listing; `Err` names a line that is not one.
    pub fn parse_all(text: &str) -> Result<Vec<Group>, String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Group::parse(l).ok_or_else(|| format!("unreadable group entry: {l:?}")))
            .collect()
    }

    /// The group named `name`, or numbered `name` when it is a number.
    pub fn find<'g>(groups: &'g [Group], name: &str) -> Option<&'g Group> {
        groups.iter().find(|g| g.name == name).or_else(|| {
            name.parse::<u32>()
                .ok()
                .and_then(|_| groups.iter().find(|g| g.gid == name))
        })
    }
}

/// Script lines reading one `getent DB KEY` entry into block `KEY`, or the
/// marker `KEY none` when there is none (getent's exit status 2); any other
/// status fails with `getent`, quoting it.
pub(crate) fn getent_lines(block: &str, db: &str, key: &str) -> String {
    format!(
        "_o=$(getent {db} {key} 2>&1); _rc=$?\ncase $_rc in\n  0) _b begin {block}; printf '%s\\n' \"$_o\"; _b end {block} ;;\n  2) _b {block} none ;;\n  *) _b getent_rc \"$_rc\"; _b begin getent; printf '%s\\n' \"$_o\"; _b end getent; _fail getent ;;\nesac\n",
        db = shell::quote(db),
        key = shell::quote(key),
    )
}

#[derive(Debug, Clone)]
struct Want {
    name: String,
    present: bool,
    uid: Option<String>,
    group: Option<String>,
    /// Supplementary groups as given (names or numbers), commas split.
    groups: Option<Vec<String>>,
    append: bool,
    home: Option<String>,
    shell: Option<String>,
    system: bool,
    create_home: bool,
    remove: bool,
    force: bool,
    comment: Option<String>,
    password: Option<String>,
}

fn one_line(name: &str, v: Option<String>) -> Result<Option<String>, ModuleError> {
    match v {
        Some(s) if s.contains(['\n', '\r', ':', '\0']) => Err(ModuleError::Args(format!(
            "argument `{name}` must be one line without `:` (it is a field of /etc/passwd): {s:?}"
        ))),
        v => Ok(v),
    }
}

impl Want {
    fn from_args(args: &Args) -> Result<Want, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let name = r.required_string("name")?;
        if name.is_empty()
            || name.starts_with('-')
            || name.contains(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '/')
        {
            return Err(ModuleError::Args(format!(
                "argument `name` is not a valid user name: {name:?}"
            )));
        }
        let groups = r.string_list("groups")?.map(|list| {
            list.iter()
                .flat_map(|g| g.split(','))
                .map(|g| g.trim().to_string())
                .filter(|g| !g.is_empty())
                .collect::<Vec<_>>()
        });
        Ok(Want {
            present: r.choice("state")?.as_deref() != Some("absent"),
            uid: r
                .integer("uid", 0..=i64::from(u32::MAX - 1))?
                .map(|n| n.to_string()),
            group: one_line("group", r.string("group")?)?,
            groups,
            append: r.bool("append", false)?,
            home: one_line("home", r.path("home")?)?,
            shell: one_line("shell", r.string("shell")?)?,
            system: r.bool("system", false)?,
            create_home: r.bool("create_home", true)?,
            remove: r.bool("remove", false)?,
            force: r.bool("force", false)?,
            comment: one_line("comment", r.string("comment")?)?,
            password: one_line("password", r.string("password")?)?,
            name,
        })
    }

    fn read_script(&self, nonce: &str) -> String {
        let mut s = prelude(nonce);
        s.push_str(&tool::require("getent"));
        s.push_str(&getent_lines("passwd", "passwd", &self.name));
        if self.present {
            s.push_str("_o=$(getent group 2>&1); _rc=$?\ncase $_rc in\n  0|2) _b begin groups; printf '%s\\n' \"$_o\"; _b end groups ;;\n  *) _b getent_rc \"$_rc\"; _b begin getent; printf '%s\\n' \"$_o\"; _b end getent; _fail getent ;;\nesac\n");
            if self.password.is_some() {
                s.push_str(&getent_lines("shadow", "shadow", &self.name));
            }
        }
        s.push_str("_b done 1\n");
        s
    }

    /// What to run (the command's words), with the attribute lines before and
    /// after for `--diff`; `Ok(None)` when nothing changes.
    fn plan(
        &self,
        account: Option<&Account>,
        groups: &[Group],
        hash: Option<&str>,
    ) -> Result<Option<Plan>, String> {
        let Some(account) = account else {
            if !self.present {
                return Ok(None);
            }
            return self.create(groups).map(Some);
        };
        if !self.present {
            let mut words = vec!["userdel".to_string()];
            if self.force {
                words.push("-f".into());
            }
            if self.remove {
                words.push("-r".into());
            }
            words.push(self.name.clone());
            return Ok(Some(Plan {
                words,
                before: describe(&self.name, Some(account), &[]),
                after: String::new(),
            }));
        }
        let mut words = vec!["usermod".to_string()];
        let mut after = account.clone();
        if let Some(uid) = self.uid.as_ref().filter(|u| **u != account.uid) {
            words.extend(["-u".into(), uid.clone()]);
            after.uid = uid.clone();
        }
        if let Some(group) = &self.group {
            let g = Group::find(groups, group).ok_or_else(|| missing(group))?;
            if g.gid != account.gid {
                words.extend(["-g".into(), g.name.clone()]);
                after.gid = g.gid.clone();
            }
        }
        let current = supplementary(&self.name, &account.gid, groups);
        let mut after_groups = current.clone();
        if let Some(wanted) = &self.groups {
            let wanted = self.resolve(wanted, groups, &after.gid)?;
            let missing: Vec<&String> = wanted.iter().filter(|g| !current.contains(g)).collect();
            let extra = current.iter().any(|g| !wanted.contains(g));
            if self.append && !missing.is_empty() {
                words.extend(["-a".into(), "-G".into(), wanted.join(",")]);
                after_groups.extend(missing.into_iter().cloned());
            } else if !self.append && (!missing.is_empty() || extra) {
                words.extend(["-G".into(), wanted.join(",")]);
                after_groups = wanted;
            }
        }
        for (flag, want, field) in [
            ("-c", &self.comment, &mut after.comment),
            ("-d", &self.home, &mut after.home),
            ("-s", &self.shell, &mut after.shell),
        ] {
            if let Some(v) = want.as_ref().filter(|v| *v != field) {
                words.extend([flag.to_string(), v.clone()]);
                *field = v.clone();
            }
        }
        let mut password_changes = false;
        if let Some(p) = self.password.as_ref().filter(|p| Some(p.as_str()) != hash) {
            words.extend(["-p".into(), p.clone()]);
            password_changes = true;
        }
        if words.len() == 1 {
            return Ok(None);
        }
        words.push(self.name.clone());
        let mut after_text = describe(&self.name, Some(&after), &after_groups);
        if password_changes {
            after_text.push_str("password: (changed)\n");
        }
        Ok(Some(Plan {
            words,
            before: describe(&self.name, Some(account), &current),
            after: after_text,
        }))
    }

    fn create(&self, groups: &[Group]) -> Result<Plan, String> {
        let mut words = vec!["useradd".to_string()];
        let mut primary = None;
        if let Some(uid) = &self.uid {
            words.extend(["-u".into(), uid.clone()]);
        }
        if let Some(group) = &self.group {
            let g = Group::find(groups, group).ok_or_else(|| missing(group))?;
            words.extend(["-g".into(), g.name.clone()]);
            primary = Some(g.gid.clone());
        } else if groups.iter().any(|g| g.name == self.name) {
            // As Ansible: a group named like the user already exists, so
            // useradd must not try to create it (USERGROUPS_ENAB).
            words.push("-N".into());
        }
        let mut supplementary = Vec::new();
        if let Some(wanted) = &self.groups {
            supplementary = self.resolve(wanted, groups, primary.as_deref().unwrap_or(""))?;
            if !supplementary.is_empty() {
                words.extend(["-G".into(), supplementary.join(",")]);
            }
        }
        for (flag, v) in [
            ("-c", &self.comment),
            ("-d", &self.home),
            ("-s", &self.shell),
            ("-p", &self.password),
        ] {
            if let Some(v) = v {
                words.extend([flag.to_string(), v.clone()]);
            }
        }
        if self.system {
            words.push("-r".into());
        }
        words.push(if self.create_home { "-m" } else { "-M" }.into());
        words.push(self.name.clone());
        let mut after = format!("user: {}\nstate: present\n", self.name);
        for (k, v) in [
            ("uid", &self.uid),
            ("group", &self.group),
            ("comment", &self.comment),
            ("home", &self.home),
            ("shell", &self.shell),
        ] {
            if let Some(v) = v {
                after.push_str(&format!("{k}: {v}\n"));
            }
        }
        if !supplementary.is_empty() {
            after.push_str(&format!("groups: {}\n", supplementary.join(",")));
        }
        Ok(Plan {
            words,
            before: format!("user: {}\nstate: absent\n", self.name),
            after,
        })
    }

    /// The wanted primary and supplementary groups not in `groups`, as given.
    fn missing_groups(&self, groups: &[Group]) -> Vec<String> {
        if !self.present {
            return Vec::new();
        }
        let mut absent = Vec::new();
        for g in self.group.iter().chain(self.groups.iter().flatten()) {
            if Group::find(groups, g).is_none() && !absent.contains(g) {
                absent.push(g.clone());
            }
        }
        absent
    }

    /// Wanted supplementary groups as names, each checked to exist; the
    /// primary group (`primary_gid`) left out, as it is not counted.
    fn resolve(
        &self,
        wanted: &[String],
        groups: &[Group],
        primary_gid: &str,
    ) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for w in wanted {
            let g = Group::find(groups, w).ok_or_else(|| missing(w))?;
            if g.gid != primary_gid && !names.contains(&g.name) {
                names.push(g.name.clone());
            }
        }
        Ok(names)
    }
}

fn missing(group: &str) -> String {
    format!("Group {group} does not exist")
}

/// Groups listing `user` as a member, except the primary group (Ansible's
/// `user_group_membership(exclude_primary=True)`).
fn supplementary(user: &str, primary_gid: &str, groups: &[Group]) -> Vec<String> {
    groups
        .iter()
        .filter(|g| g.gid != primary_gid && g.members.iter().any(|m| m == user))
        .map(|g| g.name.clone())
        .collect()
}

fn describe(name: &str, account: Option<&Account>, groups: &[String]) -> String {
    match account {
        None => format!("user: {name}\nstate: absent\n"),
        Some(a) => format!(
            "user: {name}\nstate: present\nuid: {}\ngroup: {}\ncomment: {}\nhome: {}\nshell: {}\ngroups: {}\n",
            a.uid,
            a.gid,
            a.comment,
            a.home,
            a.shell,
            groups.join(",")
        ),
    }
}

struct Plan {
    words: Vec<String>,
    before: String,
    after: String,
}

/// The answer of a read: the account, the groups and the hash; or the
/// failed result.
pub(crate) fn read_failure(answer: &Answer) -> Option<TaskResult> {
    if let Some(r) = tool::failure(answer) {
        return Some(r);
    }
    match answer.failure() {
        Some("getent") => Some(TaskResult::failed(format!(
            "getent failed (exit status {}): {}",
            answer.get("getent_rc").unwrap_or("?"),
            answer.block("getent").unwrap_or_default().trim()
        ))),
        Some(_) => Some(answer.unexpected()),
        None if answer.get("done") != Some("1") => Some(answer.unexpected()),
        None => None,
    }
}

impl Module for User {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let want = Want::from_args(args)?;
        let nonce = ctx.nonce.to_string();
        let (check, diff) = (ctx.check_mode, ctx.diff);
        Ok(Step::Exclusive(
            "/etc/passwd".into(),
            Box::new(Step::Remote {
                script: want.read_script(&nonce),
                interpret: Box::new(move |out| after_read(want, out, &nonce, check, diff)),
            }),
        ))
    }
}

fn after_read(want: Want, out: &ExecOutput, nonce: &str, check: bool, diff: bool) -> Step {
    let answer = Answer::parse(out, nonce);
    if let Some(r) = read_failure(&answer) {
        return Step::Done(r);
    }
    let account = match answer.block("passwd") {
        None => None,
        Some(line) => match Account::parse(line) {
            Some(a) => Some(a),
            None => {
                return Step::Done(TaskResult::failed(format!(
                    "getent passwd printed an entry baton cannot read: {:?}",
                    line.trim_end()
                )))
            }
        },
    };
    let groups = match Group::parse_all(answer.block("groups").unwrap_or_default()) {
        Ok(g) => g,
        Err(e) => return Step::Done(TaskResult::failed(format!("getent group: {e}"))),
    };
    let hash = answer
        .block("shadow")
        .and_then(|l| l.split(':').nth(1).map(str::to_string));
    // Check mode predicts rather than fails: an earlier task (`group`) may
    // create the group, and in check mode it has not (Ansible's user module
    // reports a new user as changed without looking at its groups).
    let absent = want.missing_groups(&groups);
    if check && !absent.is_empty() {
        let mut r = result(TaskResult::changed(), &want, account.as_ref(), &groups);
        r.msg = Some(format!(
            "check mode: {} does not exist yet (an earlier task may create it); user {} would be {}, and the run fails if the group is still missing then",
            absent
                .iter()
                .map(|g| format!("group {g}"))
                .collect::<Vec<_>>()
                .join(", "),
            want.name,
            if account.is_some() { "changed" } else { "created" }
        ));
        return Step::Done(r);
    }
    let plan = match want.plan(account.as_ref(), &groups, hash.as_deref()) {
        Ok(p) => p,
        Err(e) => return Step::Done(TaskResult::failed(e)),
    };
    let Some(plan) = plan else {
        return Step::Done(result(TaskResult::ok(), &want, account.as_ref(), &groups));
    };
    let file_diff = diff.then(|| FileDiff {
        path: format!("user {}", want.name),
        before: plan.before.clone(),
        after: plan.after.clone(),
    });
    if check {
        let mut r = result(TaskResult::changed(), &want, account.as_ref(), &groups);
        r.diff.extend(file_diff);
        return Step::Done(r);
    }
    let tool_name = plan.words[0].clone();
    let mut s = prelude(nonce);
    s.push_str(&tool::require(&tool_name));
    s.push_str(&tool::run(&tool_name, &tool::command_line(&plan.words)));
    s.push_str(&getent_lines("passwd", "passwd", &want.name));
    if want.present {
        s.push_str("_b begin groups; getent group; _b end groups\n");
    }
    s.push_str("_b done 1\n");
    let nonce = nonce.to_string();
    Step::Remote {
        script: s,
        interpret: Box::new(move |out| {
            let answer = Answer::parse(out, &nonce);
            if let Some(r) = read_failure(&answer) {
                return Step::Done(r);
            }
            let account = answer.block("passwd").and_then(Account::parse);
            let groups =
                Group::parse_all(answer.block("groups").unwrap_or_default()).unwrap_or_default();
            let mut r = result(TaskResult::changed(), &want, account.as_ref(), &groups);
            if let Some((_, out)) = tool::output(&answer, &tool_name) {
                if !out.is_empty() {
                    r.stderr = Some(out);
                }
            }
            r.diff.extend(file_diff);
            Step::Done(r)
        }),
    }
}

/// Ansible's return values: `name`, `state`, and for an account that
/// exists `uid`, `group` (its gid), `comment`, `home`, `shell`, `groups`
/// (supplementary, comma-separated), `system`, `append`; `password` is
/// never echoed.
fn result(
    mut r: TaskResult,
    want: &Want,
    account: Option<&Account>,
    groups: &[Group],
) -> TaskResult {
    let mut data = Map::new();
    data.insert("name".into(), json!(want.name));
    let state = if want.present { "present" } else { "absent" };
    data.insert("state".into(), json!(state));
    if want.present {
        if let Some(a) = account {
            let n = |s: &str| s.parse::<u64>().map(Value::from).unwrap_or(json!(s));
            data.insert("uid".into(), n(&a.uid));
            data.insert("group".into(), n(&a.gid));
            data.insert("comment".into(), json!(a.comment));
            data.insert("home".into(), json!(a.home));
            data.insert("shell".into(), json!(a.shell));
            data.insert(
                "groups".into(),
                json!(supplementary(&want.name, &a.gid, groups).join(",")),
            );
        }
        data.insert("system".into(), json!(want.system));
        data.insert("append".into(), json!(want.append));
        data.insert("create_home".into(), json!(want.create_home));
        if want.password.is_some() {
            data.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
        }
    } else {
        data.insert("remove".into(), json!(want.remove));
        data.insert("force".into(), json!(want.force));
    }
    r.data = data;
    r
}

/// Test support: the shadow tools on a PATH of wrappers that run the real
/// `useradd`/`usermod`/`userdel`/`groupadd`/`groupmod`/`groupdel` with
/// `--prefix` (their files are those under a temporary directory, never the
/// machine's /etc) and a `getent` that reads the same files. `useradd` gets
/// `-l` so it leaves /var/log/lastlog and faillog alone. Needs root.
#[cfg(test)]
pub(crate) mod fake {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// Sets up `dir/root/etc` with root's entries and returns the PATH value.
    pub fn shadow_tools(dir: &Path) -> String {
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("home")).unwrap();
        for (file, text) in [
            ("passwd", "root:x:0:0:root:/root:/bin/bash\n"),
            ("group", "root:x:0:\nstaff:x:50:\nwheel:x:10:\n"),
            ("shadow", "root:*:19000:0:99999:7:::\n"),
            ("gshadow", "root:*::\nstaff:*::\nwheel:*::\n"),
        ] {
            std::fs::write(root.join("etc").join(file), text).unwrap();
        }
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let mut tools = vec![(
            "getent".to_string(),
            format!(
                "#!/bin/sh\nf={}/etc/$1\n[ -f \"$f\" ] || exit 1\n[ $# -ge 2 ] || {{ cat \"$f\"; exit 0; }}\nawk -F: -v k=\"$2\" '$1==k {{print; found=1; exit}} END {{exit found?0:2}}' \"$f\"\n",
                root.display()
            ),
        )];
        for t in [
            "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel",
        ] {
            let real = ["/usr/sbin", "/sbin", "/usr/bin"]
                .iter()
                .map(|d| Path::new(d).join(t))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{t} is needed for this test"));
            let extra = if t == "useradd" { " -l" } else { "" };
            tools.push((
                t.to_string(),
                format!(
                    "#!/bin/sh\nexec {} -P {}{extra} \"$@\"\n",
                    real.display(),
                    root.display()
                ),
            ));
        }
        for (name, text) in tools {
            let p = bin.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    pub fn file(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join("root/etc").join(name)).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, Ctx};
    use crate::modules::Status;

    pub(crate) fn run_env(module: &dyn Module, args: Value, check: bool, path: &str) -> TaskResult {
        let args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = TaskContext {
            host: "h",
            check_mode: check,
            diff: true,
            nonce: "us3r",
            search_paths: &[],
            eval: &ctx.eval,
        };
        finish_with_env(module.prepare(&args, &context).unwrap(), &[("PATH", path)]).0
    }

    fn line(dir: &std::path::Path, file: &str, name: &str) -> Option<String> {
        fake::file(dir, file)
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .map(str::to_string)
    }

    #[test]
    fn users_are_created_changed_and_removed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let args = json!({"name": "hvr", "uid": 2001, "group": "staff", "groups": ["wheel"],
            "home": "/home/hvr", "shell": "/bin/sh", "comment": "HVR owner",
            "password": "$6$salt$hash"});
        let passwd = fake::file(dir.path(), "passwd");
        let dry = run_env(&User, args.clone(), true, &path);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(dry.diff[0].before.contains("state: absent"));
        assert!(dry.diff[0].after.contains("uid: 2001"));
        assert_eq!(
            fake::file(dir.path(), "passwd"),
            passwd,
            "check mode changed nothing"
        );

        let first = run_env(&User, args.clone(), false, &path);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(
            line(dir.path(), "passwd", "hvr").as_deref(),
            Some("hvr:x:2001:50:HVR owner:/home/hvr:/bin/sh")
        );
        assert_eq!(
            line(dir.path(), "group", "wheel").as_deref(),
            Some("wheel:x:10:hvr")
        );
        assert!(line(dir.path(), "shadow", "hvr")
            .unwrap()
            .starts_with("hvr:$6$salt$hash:"));
        assert!(dir.path().join("root/home/hvr").is_dir(), "create_home");
        assert_eq!(first.data["uid"], 2001);
        assert_eq!(first.data["groups"], "wheel");
        assert_eq!(first.data["password"], "NOT_LOGGING_PASSWORD");

        let again = run_env(&User, args.clone(), false, &path);
        assert_eq!(again.status, Status::Ok, "{again:?}");

        // Only what differs changes: the shell, and groups replaced.
        let mut changed = args.clone();
        changed["shell"] = json!("/bin/bash");
        changed["groups"] = json!("staff,root");
        let dry = run_env(&User, changed.clone(), true, &path);
        assert_eq!(dry.status, Status::Changed);
        assert!(dry.diff[0].after.contains("shell: /bin/bash"));
        assert!(dry.diff[0].after.contains("groups: root"), "{:?}", dry.diff);
        assert_eq!(
            run_env(&User, changed.clone(), false, &path).status,
            Status::Changed
        );
        assert!(line(dir.path(), "passwd", "hvr")
            .unwrap()
            .ends_with(":/bin/bash"));
        assert_eq!(
            line(dir.path(), "group", "wheel").as_deref(),
            Some("wheel:x:10:")
        );
        assert_eq!(
            line(dir.path(), "group", "root").as_deref(),
            Some("root:x:0:hvr")
        );
        assert_eq!(run_env(&User, changed, false, &path).status, Status::Ok);

        // append only adds.
        let add = json!({"name": "hvr", "groups": "wheel", "append": true});
        assert_eq!(
            run_env(&User, add.clone(), false, &path).status,
            Status::Changed
        );
        assert_eq!(
            line(dir.path(), "group", "root").as_deref(),
            Some("root:x:0:hvr")
        );
        assert_eq!(
            line(dir.path(), "group", "wheel").as_deref(),
            Some("wheel:x:10:hvr")
        );
        assert_eq!(run_env(&User, add, false, &path).status, Status::Ok);

        let gone = json!({"name": "hvr", "state": "absent", "remove": true});
        let dry = run_env(&User, gone.clone(), true, &path);
        assert_eq!(dry.status, Status::Changed);
        assert!(line(dir.path(), "passwd", "hvr").is_some());
        assert_eq!(
            run_env(&User, gone.clone(), false, &path).status,
            Status::Changed
        );
        assert!(line(dir.path(), "passwd", "hvr").is_none());
        assert!(!dir.path().join("root/home/hvr").exists(), "remove");
        assert_eq!(run_env(&User, gone, false, &path).status, Status::Ok);
    }

    #[test]
    fn system_users_without_home_and_a_same_named_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let args = json!({"name": "staff", "system": true, "create_home": false});
        assert_eq!(
            run_env(&User, args.clone(), false, &path).status,
            Status::Changed
        );
        let entry = line(dir.path(), "passwd", "staff").unwrap();
        let uid: u32 = entry.split(':').nth(2).unwrap().parse().unwrap();
        assert!(uid < 1000, "a system uid: {entry}");
        assert!(!dir.path().join("root/home/staff").exists());
        assert_eq!(run_env(&User, args, false, &path).status, Status::Ok);
    }

    #[test]
    fn check_mode_predicts_changed_when_the_group_does_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let passwd = fake::file(dir.path(), "passwd");
        // A new user whose primary group an earlier `group` task would create.
        let new = json!({"name": "u1", "group": "g1"});
        let r = run_env(&User, new.clone(), true, &path);
        assert_eq!(r.status, Status::Changed, "{r:?}");
        let msg = r.msg.unwrap();
        assert!(msg.contains("group g1 does not exist yet"), "{msg}");
        assert!(msg.contains("would be created"), "{msg}");
        // An existing user, a missing supplementary group.
        let r = run_env(
            &User,
            json!({"name": "root", "groups": ["wheel", "g2"]}),
            true,
            &path,
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        let msg = r.msg.unwrap();
        assert!(msg.contains("group g2 does not exist yet"), "{msg}");
        assert!(msg.contains("would be changed"), "{msg}");
        assert_eq!(fake::file(dir.path(), "passwd"), passwd, "check mode wrote");
        // Outside check mode it still fails.
        let r = run_env(&User, new, false, &path);
        assert_eq!(r.msg.as_deref(), Some("Group g1 does not exist"));
        assert_eq!(fake::file(dir.path(), "passwd"), passwd);
    }

    #[test]
    fn failures_name_the_group_the_tool_or_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::shadow_tools(dir.path());
        let r = run_env(
            &User,
            json!({"name": "x", "groups": ["nogroup-here"]}),
            false,
            &path,
        );
        assert_eq!(r.msg.as_deref(), Some("Group nogroup-here does not exist"));
        let r = run_env(&User, json!({"name": "x", "group": "nope"}), false, &path);
        assert_eq!(r.msg.as_deref(), Some("Group nope does not exist"));
        // The uid is taken: useradd says so, and baton quotes it.
        let r = run_env(&User, json!({"name": "x", "uid": 0}), false, &path);
        assert_eq!(r.status, Status::Failed);
        assert!(r
            .msg
            .unwrap()
            .starts_with("useradd failed (exit status 4): "));
        // getent's "enumeration not supported" (3) is not "no such user".
        std::fs::write(
            dir.path().join("bin/getent"),
            "#!/bin/sh\necho 'getent: enumeration not supported on passwd' >&2\nexit 3\n",
        )
        .unwrap();
        let r = run_env(&User, json!({"name": "x"}), true, &path);
        assert_eq!(
            r.msg.as_deref(),
            Some("getent failed (exit status 3): getent: enumeration not supported on passwd")
        );
        // No shadow tools at all.
        let empty = tempfile::tempdir().unwrap();
        for t in ["sh", "cat"] {
            std::os::unix::fs::symlink(format!("/bin/{t}"), empty.path().join(t)).unwrap();
        }
        let r = run_env(
            &User,
            json!({"name": "x"}),
            false,
            empty.path().to_str().unwrap(),
        );
        assert_eq!(r.msg.as_deref(), Some("getent not found on host"));
    }

    #[test]
    fn argument_errors() {
        assert!(prepare_error(&User, json!({"name": "a b"})).contains("not a valid user name"));
        assert!(prepare_error(&User, json!({"name": "a", "uid": -1})).contains("`uid`"));
        assert!(
            prepare_error(&User, json!({"name": "a", "comment": "x:y"})).contains("without `:`")
        );
    }
}

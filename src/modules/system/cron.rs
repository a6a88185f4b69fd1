//! `cron`: one named entry in a user's crontab or in a file under
//! /etc/cron.d, in Ansible's layout (a `#Ansible: NAME` comment line above the
//! job), so crontabs Ansible already manages are recognised and never get a
//! duplicate entry.
//!
//! The crontab is read, edited on the controller and written back only when
//! it changes, refusing to write if it changed on the host in between.
//!
//! Round trips: 1 when the entry is already right (or in check mode); 2 when
//! the crontab changes (read, edit on the controller, write).

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::Attrs;
use crate::modules::kit::rewrite::{self, Edit, Retry, Rewrite};
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct Cron;

static SPEC: ModuleSpec = ModuleSpec {
    name: "cron",
    args: &[
        ArgSpec::required("name"),
        ArgSpec::optional("minute"),
        ArgSpec::optional("hour"),
        ArgSpec::optional("day").aliases(&["dom"]),
        ArgSpec::optional("month"),
        ArgSpec::optional("weekday").aliases(&["dow"]),
        ArgSpec::optional("special_time").choices(&[
            "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
        ]),
        ArgSpec::optional("job").aliases(&["value"]),
        ArgSpec::optional("user"),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("cron_file"),
        ArgSpec::optional("disabled"),
        ArgSpec::optional("env"),
        ArgSpec::optional("insertafter"),
        ArgSpec::optional("insertbefore"),
        ArgSpec::optional("backup"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

const COMMENT: &str = "#Ansible: ";

/// The controller-side change to a crontab's lines.
#[derive(Debug, Clone)]
pub(crate) struct CronChange {
    name: String,
    present: bool,
    /// The job line (with the user field for cron files), or `NAME="value"` for env.
    line: String,
    env: bool,
    insertafter: Option<String>,
    insertbefore: Option<String>,
}

impl CronChange {
    /// The crontab's new text, or `Ok(None)` when nothing changes.
    pub fn apply(&self, text: &str) -> Result<Option<String>, String> {
        let mut lines = strip_header(text);
        let old = lines.clone();
        if self.env {
            self.apply_env(&mut lines)?;
        } else {
            self.apply_job(&mut lines);
        }
        let mut new = lines.join("\n");
        if !new.is_empty() {
            new.push('\n');
        }
        let old_text = if old.is_empty() {
            String::new()
        } else {
            format!("{}\n", old.join("\n"))
        };
        // A crontab without its final newline is rewritten too (cron needs it).
        if new == old_text && (text.is_empty() || text.ends_with('\n')) {
            Ok(None)
        } else {
            Ok(Some(new))
        }
    }

    fn apply_job(&self, lines: &mut Vec<String>) {
        let comment = format!("{COMMENT}{}", self.name);
        let mut found = false;
        let mut out = Vec::with_capacity(lines.len() + 2);
        let mut i = 0;
        while i < lines.len() {
            if lines[i] == comment {
                found = true;
                if self.present {
                    out.push(comment.clone());
                    out.push(self.line.clone());
                }
                // The comment and the job line under it.
                i += 2;
                continue;
            }
            out.push(lines[i].clone());
            i += 1;
        }
        if !found && self.present {
            // A job put there by hand (or by an older run without a name):
            // adopt it instead of adding a second copy. An entry is
            // identified by its name, as in Ansible's `find_job`: the same
            // job line under another name is another entry and stays, so
            // only a line with no marker, or an unnamed one (`#Ansible: `,
            // `#Ansible: None`), is adopted.
            let adoptable = |at: usize| match at.checked_sub(1).map(|p| out[p].as_str()) {
                Some(above) if above.starts_with(COMMENT) => {
                    matches!(above[COMMENT.len()..].trim(), "" | "None")
                }
                _ => true,
            };
            let adopt = (0..out.len()).find(|&at| out[at] == self.line && adoptable(at));
            match adopt {
                Some(at) if at > 0 && out[at - 1].starts_with(COMMENT) => out[at - 1] = comment,
                Some(at) => out.insert(at, comment),
                None => {
                    out.push(comment);
                    out.push(self.line.clone());
                }
            }
        }
        *lines = out;
    }

    fn apply_env(&self, lines: &mut Vec<String>) -> Result<(), String> {
        let prefix = format!("{}=", self.name);
        let at = lines.iter().position(|l| l.starts_with(&prefix));
        match (at, self.present) {
            (Some(i), true) => lines[i] = self.line.clone(),
            (Some(i), false) => {
                lines.remove(i);
            }
            (None, false) => {}
            (None, true) => {
                let other = self.insertafter.as_ref().or(self.insertbefore.as_ref());
                let index = match other {
                    None => 0,
                    Some(other) => {
                        let other_prefix = format!("{other}=");
                        let pos = lines
                            .iter()
                            .position(|l| l.starts_with(&other_prefix))
                            .ok_or_else(|| format!("Variable named '{other}' not found."))?;
                        if self.insertafter.is_some() {
                            pos + 1
                        } else {
                            pos
                        }
                    }
                };
                lines.insert(index, self.line.clone());
            }
        }
        Ok(())
    }
}

/// Lines of a crontab without the header some `crontab -l` versions add.
fn strip_header(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(i, l)| {
            *i > 2
                || !(l.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.")
                    || (l.starts_with("# (/tmp/") && l.contains("installed on"))
                    || (l.starts_with("# (") && l.contains("version")))
        })
        .map(|(_, l)| l.to_string())
        .collect()
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|l| l.trim().is_empty())
}

impl Module for Cron {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let name = r.required_string("name")?;
        let present = r.choice("state")?.as_deref() != Some("absent");
        let env = r.bool("env", false)?;
        let user = r.string("user")?.filter(|u| !u.is_empty());
        let cron_file = r.path("cron_file")?;
        let job = r
            .string("job")?
            .map(|j| j.trim_matches(['\r', '\n']).to_string());
        if name.contains(['\n', '\r']) {
            return Err(ModuleError::Args("argument `name` must be one line".into()));
        }
        if let Some(j) = &job {
            if j.contains(['\n', '\r']) {
                return Err(ModuleError::Args(
                    "argument `job` must be one line (a crontab entry cannot span lines)".into(),
                ));
            }
        }
        if let Some(u) = &user {
            if u.contains([' ', '\t', '\n', ':']) {
                return Err(ModuleError::Args(format!(
                    "argument `user`: `{u}` is not a user name"
                )));
            }
        }
        if present && job.is_none() {
            return Err(ModuleError::Args(
                "`job` is required to add a cron job or variable (state=present)".into(),
            ));
        }
        if cron_file.is_some() && present && user.is_none() {
            return Err(ModuleError::Args(
                "with `cron_file`, give `user` too (the user the job runs as)".into(),
            ));
        }
        let line = if env {
            if name.contains([' ', '=']) {
                return Err(ModuleError::Args(format!(
                    "argument `name`: `{name}` is not a valid environment variable name"
                )));
            }
            format!("{name}=\"{}\"", job.clone().unwrap_or_default())
        } else {
            let fields: Vec<String> = ["minute", "hour", "day", "month", "weekday"]
                .iter()
                .map(|f| Ok(r.string(f)?.unwrap_or_else(|| "*".into())))
                .collect::<Result<_, ModuleError>>()?;
            for (f, v) in ["minute", "hour", "day", "month", "weekday"]
                .iter()
                .zip(&fields)
            {
                if v.is_empty() || v.contains(char::is_whitespace) {
                    return Err(ModuleError::Args(format!(
                        "argument `{f}`: `{v}` is not a cron time field"
                    )));
                }
            }
            let special = r.choice("special_time")?;
            if special.is_some() && fields.iter().any(|f| f != "*") {
                return Err(ModuleError::Args(
                    "give either the time fields (minute, hour, day, month, weekday) or `special_time`, not both".into(),
                ));
            }
            let disabled = if r.bool("disabled", false)? { "#" } else { "" };
            let user_field = match (&cron_file, &user) {
                (Some(_), Some(u)) => format!(" {u}"),
                _ => String::new(),
            };
            let job = job.clone().unwrap_or_default();
            match special {
                Some(s) => format!("{disabled}@{s}{user_field} {job}"),
                None => format!("{disabled}{}{user_field} {job}", fields.join(" ")),
            }
        };
        let change = CronChange {
            name,
            present,
            line,
            env,
            insertafter: r.string("insertafter")?,
            insertbefore: r.string("insertbefore")?,
        };
        let backup = r.bool("backup", false)?;
        match cron_file {
            Some(file) => Ok(cron_file_step(file, change, backup, ctx)),
            None => Ok(UserCrontab {
                user,
                change,
                backup,
                check: ctx.check_mode,
                diff: ctx.diff,
                nonce: ctx.nonce.to_string(),
                retry: Retry::first(),
            }
            .first_step()),
        }
    }
}

fn cron_file_step(file: String, change: CronChange, backup: bool, ctx: &TaskContext<'_>) -> Step {
    let path = if file.starts_with('/') {
        file
    } else {
        format!("/etc/cron.d/{file}")
    };
    let rewrite = Rewrite {
        path,
        attrs: Attrs::default(),
        backup,
        backup_key: "backup_file",
        validate: None,
        // cron ignores files that others can write.
        create_mode: Some(0o644),
        check: ctx.check_mode,
        diff: ctx.diff,
        nonce: ctx.nonce.to_string(),
        retry: Retry::first(),
    };
    rewrite.step(Box::new(move |old| {
        let text = old.map(|b| String::from_utf8_lossy(b).into_owned());
        if text.is_none() && !change.present {
            return Edit::Keep(None);
        }
        match change.apply(text.as_deref().unwrap_or_default()) {
            Err(e) => Edit::Stop(Box::new(TaskResult::failed(e))),
            Ok(None) => Edit::Keep(None),
            Ok(Some(new)) if !change.present && is_blank(&new) => Edit::Delete {
                msg: "cron file removed: no entries left".into(),
            },
            Ok(Some(new)) => Edit::Replace {
                content: new.into_bytes(),
                msg: String::new(),
            },
        }
    }))
}

/// A user's crontab through the `crontab` command.
struct UserCrontab {
    user: Option<String>,
    change: CronChange,
    backup: bool,
    check: bool,
    diff: bool,
    nonce: String,
    /// Which read-edit-write attempt this is, and the bounds.
    retry: Retry,
}

impl UserCrontab {
    /// The first attempt, holding the run's lock on the user's crontab.
    fn first_step(self) -> Step {
        let key = format!("crontab {}", self.user.as_deref().unwrap_or(""));
        Step::Exclusive(key, Box::new(self.step()))
    }

    fn step(self) -> Step {
        let script = self.read_script();
        Step::Remote {
            script,
            interpret: Box::new(move |out| self.after_read(out)),
        }
    }

    /// Shell words selecting the user: `-u USER` only for another user, since
    /// unprivileged users may not name even themselves on some systems.
    fn head(&self) -> String {
        let mut s = prelude(&self.nonce);
        s.push_str("command -v crontab >/dev/null 2>&1 || _fail nocrontab\n_uo=\n");
        if let Some(u) = &self.user {
            s.push_str(&format!(
                "[ \"$(id -un)\" = {u} ] || _uo={u}\n",
                u = shell::quote(u)
            ));
        }
        s.push_str(
            r#"_tab() {
  _c=$(crontab -l ${_uo:+-u "$_uo"} 2>&1) && return 0
  case $_c in *"no crontab for"*) _c=; return 0 ;; esac
  _b begin error; printf '%s\n' "$_c"; _b end error
  _fail list
}
"#,
        );
        s
    }

    fn read_script(&self) -> String {
        let mut s = self.head();
        s.push_str("_tab\n_b begin tab; printf '%s\\n' \"$_c\"; _b end tab\n_b done 1\n");
        s
    }

    fn failure(&self, code: &str, answer: &Answer) -> TaskResult {
        let who = self.user.as_deref().unwrap_or("the connecting user");
        let mut result = match code {
            "nocrontab" => TaskResult::failed(
                "the `crontab` command is missing on the host; install the package that provides it (Debian/Ubuntu: `cron`, RHEL: `cronie`)",
            ),
            "list" => TaskResult::failed(format!(
                "cannot read the crontab of {who}: {}",
                answer.block("error").unwrap_or_default().trim()
            )),
            "raced" => TaskResult::failed(self.retry.exhausted(&format!("the crontab of {who}"))),
            "noflock" | "lock" | "locked" => TaskResult::failed(
                rewrite::lock_failure(code, "the crontab lock (/var/spool/cron or /)")
                    .unwrap_or_default(),
            ),
            "write" => answer.failed_with(format!("cannot install the new crontab of {who}")),
            "backup" => answer.failed_with(format!("cannot save a backup of the crontab of {who}")),
            _ => answer.unexpected(),
        };
        if result.stderr.is_none() && !answer.stderr.is_empty() {
            result.stderr = Some(answer.stderr.clone());
        }
        result
    }

    fn after_read(self, out: &ExecOutput) -> Step {
        let answer = Answer::parse(out, &self.nonce);
        if let Some(code) = answer.failure() {
            return Step::Done(self.failure(code, &answer));
        }
        let Some(block) = answer
            .block("tab")
            .filter(|_| answer.get("done") == Some("1"))
        else {
            return Step::Done(answer.unexpected());
        };
        // The script printed the shell variable plus one newline.
        let current = block.strip_suffix('\n').unwrap_or(block).to_string();
        let old_text = if current.is_empty() {
            String::new()
        } else {
            format!("{current}\n")
        };
        let new = match self.change.apply(&old_text) {
            Err(e) => return Step::Done(TaskResult::failed(e)),
            Ok(None) => return Step::Done(TaskResult::ok()),
            Ok(Some(new)) => new,
        };
        let diff = self.diff.then(|| FileDiff {
            path: format!(
                "crontab of {}",
                self.user.as_deref().unwrap_or("the connecting user")
            ),
            before: old_text.clone(),
            after: new.clone(),
        });
        if self.check {
            let mut result = TaskResult::changed();
            result.diff.extend(diff);
            return Step::Done(result);
        }
        let mut s = self.head();
        // Crontabs live where only crontab(1) writes; lock a directory every
        // user can open instead, from the comparison to the install, so two
        // runs cannot both install an edit of the same crontab.
        s.push_str("_lkd=1 _lk=/\n[ ! -r /var/spool/cron ] || _lk=/var/spool/cron\n");
        s.push_str(&rewrite::lock_lines());
        s.push_str(&format!(
            "_tab\n[ \"$_c\" = {} ] || _fail raced\n",
            shell::quote(&current)
        ));
        if self.backup {
            s.push_str(
                "_bkf=$(mktemp \"${TMPDIR:-/tmp}/crontab.XXXXXX\") && printf '%s\\n' \"$_c\" >\"$_bkf\" || _fail backup\n_b backup_file \"$_bkf\"\n",
            );
        }
        s.push_str(&format!(
            "printf '%s' {} | crontab ${{_uo:+-u \"$_uo\"}} - || _fail write\n_b done written\n",
            shell::quote(&new)
        ));
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &self.nonce);
                if answer.failure() == Some("raced") {
                    // Someone changed the crontab between the trips: wait a
                    // little, then read and edit again.
                    if let Some((wait, retry)) = self.retry.next(&self.nonce) {
                        return Step::Wait(wait, Box::new(UserCrontab { retry, ..self }.step()));
                    }
                }
                if let Some(code) = answer.failure() {
                    return Step::Done(self.failure(code, &answer));
                }
                if answer.get("done") != Some("written") {
                    return Step::Done(answer.unexpected());
                }
                let mut result = TaskResult::changed();
                result.diff.extend(diff);
                if let Some(b) = answer.get("backup_file") {
                    result
                        .data
                        .insert("backup_file".into(), Value::String(b.into()));
                }
                Step::Done(result)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, run, Ctx};
    use crate::modules::{Status, TaskContext};
    use serde_json::json;

    fn change(line: &str, present: bool) -> CronChange {
        CronChange {
            name: "backup".into(),
            present,
            line: line.into(),
            env: false,
            insertafter: None,
            insertbefore: None,
        }
    }

    /// Ansible's identity rule: an entry is its name. The same job under ten
    /// names is ten entries (Ansible 2.19 keeps all ten); a bare or unnamed
    /// copy of the line is adopted, a copy under another name is not.
    #[test]
    fn the_same_job_under_other_names_is_other_entries() {
        let line = "5 * * * * root /bin/true";
        let mut text = String::new();
        for n in 1..=10 {
            let mut c = change(line, true);
            c.name = format!("job {n}");
            text = c.apply(&text).unwrap().unwrap();
        }
        let expected: String = (1..=10)
            .map(|n| format!("#Ansible: job {n}\n{line}\n"))
            .collect();
        assert_eq!(text, expected);
        let mut c = change(line, true);
        c.name = "job 3".into();
        assert_eq!(c.apply(&text).unwrap(), None);
        for unnamed in ["", "#Ansible: \n", "#Ansible: None\n"] {
            let adopted = change(line, true)
                .apply(&format!("MAILTO=ops\n{unnamed}{line}\n"))
                .unwrap()
                .unwrap();
            assert_eq!(adopted, format!("MAILTO=ops\n#Ansible: backup\n{line}\n"));
        }
    }

    #[test]
    fn jobs_are_added_updated_and_removed_under_the_ansible_comment() {
        let add = change("0 2 * * * /bin/backup", true);
        let once = add.apply("MAILTO=ops\n").unwrap().unwrap();
        assert_eq!(
            once,
            "MAILTO=ops\n#Ansible: backup\n0 2 * * * /bin/backup\n"
        );
        assert_eq!(add.apply(&once).unwrap(), None);
        let moved = change("30 3 * * * /bin/backup", true)
            .apply(&once)
            .unwrap()
            .unwrap();
        assert_eq!(
            moved,
            "MAILTO=ops\n#Ansible: backup\n30 3 * * * /bin/backup\n"
        );
        assert_eq!(
            change("", false).apply(&moved).unwrap().unwrap(),
            "MAILTO=ops\n"
        );
        assert_eq!(change("", false).apply("MAILTO=ops\n").unwrap(), None);
    }

    #[test]
    fn special_times_and_disabled_jobs_are_written_like_ansible() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        let args = json!({"name": "boot", "special_time": "reboot", "job": "/bin/up", "user": "hvr", "cron_file": f, "disabled": true});
        assert!(run(&Cron, args, &Ctx::default()).is_changed());
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "#Ansible: boot\n#@reboot hvr /bin/up\n"
        );
    }

    #[test]
    fn a_hand_made_copy_of_the_job_is_adopted_not_duplicated() {
        let add = change("0 2 * * * /bin/backup", true);
        let out = add.apply("0 2 * * * /bin/backup\n").unwrap().unwrap();
        assert_eq!(out, "#Ansible: backup\n0 2 * * * /bin/backup\n");
    }

    #[test]
    fn env_lines_go_on_top_or_next_to_another_variable() {
        let mut env = change("PATH=\"/usr/bin\"", true);
        env.name = "PATH".into();
        env.env = true;
        assert_eq!(
            env.apply("* * * * * x\n").unwrap().unwrap(),
            "PATH=\"/usr/bin\"\n* * * * * x\n"
        );
        env.insertafter = Some("MAILTO".into());
        assert_eq!(
            env.apply("MAILTO=a\nX=1\n").unwrap().unwrap(),
            "MAILTO=a\nPATH=\"/usr/bin\"\nX=1\n"
        );
        assert!(env
            .apply("X=1\n")
            .unwrap_err()
            .contains("'MAILTO' not found"));
    }

    #[test]
    fn crontab_headers_are_ignored() {
        let text = "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (/tmp/x installed on Mon)\n# (Cron version 3)\n#Ansible: backup\n0 2 * * * /bin/backup\n";
        assert_eq!(
            change("0 2 * * * /bin/backup", true).apply(text).unwrap(),
            None
        );
        assert!(change("0 2 * * * /bin/other", true)
            .apply(text)
            .unwrap()
            .unwrap()
            .starts_with("#Ansible: backup\n"));
    }

    #[test]
    fn cron_files_carry_the_user_and_are_removed_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hvr");
        let args = json!({"name": "hvr check", "minute": "*/5", "job": "/opt/hvr/check", "user": "hvr", "cron_file": f});
        let r = run(&Cron, args.clone(), &Ctx::default());
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "#Ansible: hvr check\n*/5 * * * * hvr /opt/hvr/check\n"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(run(&Cron, args, &Ctx::default()).status, Status::Ok);
        let gone = json!({"name": "hvr check", "state": "absent", "cron_file": f});
        assert!(run(&Cron, gone.clone(), &Ctx::default()).is_changed());
        assert!(!f.exists());
        assert_eq!(run(&Cron, gone, &Ctx::default()).status, Status::Ok);
    }

    /// A fake `crontab` keeping its table in $FAKE_TAB, so the user-crontab
    /// path runs for real without touching the machine's crontabs.
    fn fake_crontab(dir: &std::path::Path) -> String {
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let tool = bin.join("crontab");
        std::fs::write(
            &tool,
            "#!/bin/sh\nfor a; do last=$a; done\nif [ \"$1\" = -l ] || [ \"$3\" = -l ]; then [ -f \"$FAKE_TAB\" ] || { echo 'no crontab for x' >&2; exit 1; }; cat \"$FAKE_TAB\"; else cat > \"$FAKE_TAB\"; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn run_env(args: serde_json::Value, check: bool, env: &[(&str, &str)]) -> TaskResult {
        let args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = TaskContext {
            host: "h",
            check_mode: check,
            diff: true,
            nonce: "cr0n",
            search_paths: &[],
            eval: &ctx.eval,
        };
        finish_with_env(Cron.prepare(&args, &context).unwrap(), env).0
    }

    #[test]
    fn user_crontabs_go_through_the_crontab_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_crontab(dir.path());
        let tab = dir.path().join("tab");
        let env = [("PATH", path.as_str()), ("FAKE_TAB", tab.to_str().unwrap())];
        let args = json!({"name": "sync", "hour": "1", "minute": "0", "job": "/bin/sync"});
        let dry = run_env(args.clone(), true, &env);
        assert_eq!(dry.status, Status::Changed);
        assert!(!tab.exists());
        let first = run_env(args.clone(), false, &env);
        assert!(first.is_changed(), "{first:?}");
        assert_eq!(
            std::fs::read_to_string(&tab).unwrap(),
            "#Ansible: sync\n0 1 * * * /bin/sync\n"
        );
        assert_eq!(run_env(args, false, &env).status, Status::Ok);
    }

    #[test]
    fn a_missing_crontab_command_names_the_package() {
        // A PATH with just what the script runner needs.
        let dir = tempfile::tempdir().unwrap();
        for tool in ["sh", "cat"] {
            std::os::unix::fs::symlink(format!("/bin/{tool}"), dir.path().join(tool)).unwrap();
        }
        let args = json!({"name": "x", "job": "true"});
        let r = run_env(args, false, &[("PATH", dir.path().to_str().unwrap())]);
        assert!(r.msg.unwrap().contains("Debian/Ubuntu: `cron`"));
    }

    #[test]
    fn argument_errors() {
        assert!(prepare_error(&Cron, json!({"name": "x"})).contains("`job` is required"));
        assert!(
            prepare_error(&Cron, json!({"name": "x", "job": "a", "cron_file": "f"}))
                .contains("give `user`")
        );
        assert!(prepare_error(
            &Cron,
            json!({"name": "x", "job": "a", "special_time": "daily", "hour": "1"})
        )
        .contains("not both"));
        assert!(prepare_error(&Cron, json!({"name": "x", "job": "a\nb"})).contains("one line"));
    }
}

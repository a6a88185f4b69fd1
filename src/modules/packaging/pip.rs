//! `pip`: Python packages, optionally in a virtualenv, as Ansible's `pip`.
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/pip_module.html
//!
//! Facts first: one script creates the virtualenv when it is missing (with
//! `virtualenv_command`, default `virtualenv`; not in check mode) and reads
//! `pip freeze --all`; the controller decides and a second script runs the
//! one `pip install` or `pip uninstall -y` needed, then freezes again.
//! Ansible's `changed` rules: `present` installs what is missing (or at
//! another `version` / `==VERSION` than asked), `absent` uninstalls what is
//! installed; `latest` and `requirements` always run pip and are changed
//! when `pip freeze` differs after it (or the virtualenv was created). In
//! check mode those two ask `pip install --dry-run` whether it would install
//! anything. Names compare the way pip does (case, `-`, `_`, `.` alike).
//!
//! `extra_args` (split as a shell would, each word quoted) go to `pip
//! install` only: Ansible also passes them to `pip uninstall`, which rejects
//! install options such as `--no-index`. Return values: `cmd`, `name`,
//! `version`, `requirements`, `virtualenv`, `stdout`.
//!
//! Not done (refused at load as unknown arguments): `editable`, `umask`,
//! `virtualenv_python`, `break_system_packages`; state `forcereinstall`;
//! name specifiers other than `NAME` and `NAME==VERSION` (`>=`, URLs,
//! paths, VCS) are refused when the task is prepared.
//!
//! Round trips: 1 when nothing changes, 2 otherwise.

use std::collections::BTreeMap;

use serde_json::json;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::tool;
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct Pip;

static SPEC: ModuleSpec = ModuleSpec {
    name: "pip",
    args: &[
        ArgSpec::optional("name"),
        ArgSpec::optional("version"),
        ArgSpec::optional("requirements"),
        ArgSpec::optional("virtualenv"),
        ArgSpec::optional("virtualenv_command"),
        ArgSpec::optional("virtualenv_site_packages"),
        ArgSpec::optional("state").choices(&["present", "absent", "latest"]),
        ArgSpec::optional("extra_args"),
        ArgSpec::optional("executable"),
        ArgSpec::optional("chdir"),
    ],
    free_form: None,
    one_of: &[&["name", "requirements"]],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Present,
    Absent,
    Latest,
}

/// One requested package: its name and the version asked for.
#[derive(Debug, Clone, PartialEq)]
struct Req {
    name: String,
    version: Option<String>,
}

impl Req {
    fn spec(&self) -> String {
        match &self.version {
            Some(v) => format!("{}=={v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// pip's name normalisation (PEP 503): lower case, runs of `-_.` as `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn parse_req(spec: &str) -> Result<Req, String> {
    let (name, version) = match spec.split_once("==") {
        Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
        None => (spec.trim(), None),
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && version
            .as_deref()
            .is_none_or(|v| !v.is_empty() && !v.contains(char::is_whitespace));
    if valid {
        Ok(Req {
            name: name.to_string(),
            version,
        })
    } else {
        Err(format!(
            "argument `name`: {spec:?} is not NAME or NAME==VERSION (baton compares only those; give other specifiers in a `requirements` file)"
        ))
    }
}

/// `pip freeze --all` lines: normalised name -> version (`name @ URL` lines
/// count as installed with the URL as version).
fn parse_freeze(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if let Some((n, v)) = l.split_once("==") {
                Some((normalize(n), v.to_string()))
            } else {
                l.split_once(" @ ")
                    .map(|(n, v)| (normalize(n), v.to_string()))
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Task {
    reqs: Vec<Req>,
    requirements: Option<String>,
    virtualenv: Option<String>,
    virtualenv_command: Vec<String>,
    site_packages: bool,
    state: State,
    extra_args: Vec<String>,
    executable: Option<String>,
    chdir: Option<String>,
}

impl Task {
    fn from_args(args: &Args) -> Result<Task, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let names: Vec<String> = r
            .string_list("name")?
            .unwrap_or_default()
            .iter()
            .flat_map(|n| n.split(','))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        let mut reqs = names
            .iter()
            .map(|n| parse_req(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ModuleError::Args)?;
        if let Some(version) = r.string("version")? {
            if reqs.len() != 1 || reqs[0].version.is_some() {
                return Err(ModuleError::Args(
                    "`version` needs exactly one `name` without a version of its own".into(),
                ));
            }
            reqs[0].version = Some(version);
        }
        let requirements = r.path("requirements")?;
        if r.value("virtualenv").is_some() && r.value("executable").is_some() {
            return Err(ModuleError::Args(
                "give `virtualenv` or `executable`, not both (the virtualenv has its own pip)"
                    .into(),
            ));
        }
        if reqs.is_empty() && requirements.is_none() {
            return Err(ModuleError::Args("give `name` or `requirements`".into()));
        }
        let words = |arg: &str, default: &str| -> Result<Vec<String>, ModuleError> {
            let text = r.string(arg)?.unwrap_or_else(|| default.to_string());
            shlex::split(&text).ok_or_else(|| {
                ModuleError::Args(format!("argument `{arg}` has unbalanced quotes: {text}"))
            })
        };
        let virtualenv_command = words("virtualenv_command", "virtualenv")?;
        if virtualenv_command.is_empty() {
            return Err(ModuleError::Args(
                "argument `virtualenv_command` is empty".into(),
            ));
        }
        let state = match r.choice("state")?.as_deref() {
            Some("absent") => State::Absent,
            Some("latest") => State::Latest,
            _ => State::Present,
        };
        if state == State::Absent && reqs.is_empty() {
            // Ansible uninstalls with `-r`; without a list of names baton
            // cannot tell beforehand what that removes.
            return Err(ModuleError::Args(
                "`state: absent` needs `name` (the packages to uninstall), not only `requirements`"
                    .into(),
            ));
        }
        Ok(Task {
            reqs,
            requirements,
            virtualenv: r.path("virtualenv")?,
            virtualenv_command,
            site_packages: r.bool("virtualenv_site_packages", false)?,
            state,
            extra_args: words("extra_args", "")?,
            executable: r.path("executable")?,
            chdir: r.path("chdir")?,
        })
    }

    /// Lines setting `_pip` (creating the virtualenv unless `check`).
    fn head(&self, nonce: &str, check: bool) -> String {
        let mut s = prelude(nonce);
        // pip's own check for a newer pip contacts PyPI on every run (and
        // waits out its timeouts on a host without a route there).
        s.push_str("export PIP_DISABLE_PIP_VERSION_CHECK=1\n");
        if let Some(dir) = &self.chdir {
            s.push_str(&format!("cd {} || _fail chdir\n", shell::quote(dir)));
        }
        match (&self.virtualenv, &self.executable) {
            (Some(venv), _) => {
                let v = shell::quote(venv);
                s.push_str(&format!("_pip={v}/bin/pip\nif [ ! -x \"$_pip\" ]; then\n"));
                if check {
                    s.push_str("_b venv_missing 1\n_b done 1\nexit 0\n");
                } else {
                    let mut cmd = self.virtualenv_command.clone();
                    if self.site_packages {
                        cmd.push("--system-site-packages".into());
                    }
                    cmd.push(venv.clone());
                    s.push_str(&tool::require(&self.virtualenv_command[0]));
                    s.push_str(&tool::run("virtualenv", &tool::command_line(&cmd)));
                    s.push_str("_b venv_created 1\n");
                }
                s.push_str("fi\n");
            }
            (None, Some(exe)) => {
                s.push_str(&tool::require(exe));
                s.push_str(&format!("_pip={}\n", shell::quote(exe)));
            }
            (None, None) => s.push_str(
                "_pip=$(command -v pip3 || command -v pip) || { _b tool pip3; _fail notool; }\n",
            ),
        }
        s
    }

    fn freeze_lines(key: &str) -> String {
        tool::run(key, "\"$_pip\" freeze --all")
    }

    fn install_words(&self, upgrade: bool, dry_run: bool) -> Vec<String> {
        let mut w: Vec<String> = vec!["install".into()];
        if upgrade {
            w.push("-U".into());
        }
        if dry_run {
            w.push("--dry-run".into());
        }
        w.extend(self.extra_args.iter().cloned());
        w
    }

    fn cmd_text(&self, words: &[String]) -> String {
        format!("\"$_pip\" {}", tool::command_line(words))
    }

    fn data(&self, r: &mut TaskResult, cmd: Option<String>) {
        let names: Vec<String> = self.reqs.iter().map(|q| q.name.clone()).collect();
        r.data.insert("name".into(), json!(names));
        r.data.insert(
            "version".into(),
            json!(self.reqs.first().and_then(|q| q.version.clone())),
        );
        r.data
            .insert("requirements".into(), json!(self.requirements));
        r.data.insert("virtualenv".into(), json!(self.virtualenv));
        if let Some(cmd) = cmd {
            r.data.insert("cmd".into(), json!(cmd));
        }
    }

    fn failure(answer: &Answer) -> Option<TaskResult> {
        if answer.failure() == Some("chdir") {
            return Some(answer.failed_with("cannot change into `chdir`"));
        }
        if let Some(r) = tool::failure(answer) {
            return Some(r);
        }
        if answer.failure().is_some() || answer.get("done") != Some("1") {
            return Some(answer.unexpected());
        }
        None
    }

    fn step(self, nonce: &str, check: bool, diff: bool) -> Step {
        let mut s = self.head(nonce, check);
        s.push_str(&Self::freeze_lines("pip-freeze"));
        let always_runs = self.requirements.is_some() || self.state == State::Latest;
        if check && always_runs {
            let mut w = self.install_words(self.state == State::Latest, true);
            if let Some(req) = &self.requirements {
                w.extend(["-r".into(), req.clone()]);
            }
            w.extend(self.reqs.iter().map(Req::spec));
            s.push_str(&tool::run("pip", &self.cmd_text(&w)));
        }
        s.push_str("_b done 1\n");
        let nonce = nonce.to_string();
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| self.after_read(out, nonce, check, diff)),
        }
    }

    fn after_read(self, out: &ExecOutput, nonce: String, check: bool, diff: bool) -> Step {
        let answer = Answer::parse(out, &nonce);
        if let Some(r) = Self::failure(&answer) {
            return Step::Done(r);
        }
        let venv_created = answer.flag("venv_created");
        let mut r = if answer.flag("venv_missing") {
            // Check mode: no virtualenv yet, so everything would be done.
            TaskResult::changed().with_msg(format!(
                "would create the virtualenv {}",
                self.virtualenv.as_deref().unwrap_or_default()
            ))
        } else {
            let before = parse_freeze(&tool::output(&answer, "pip-freeze").unwrap_or_default().1);
            return self.decide(before, &answer, nonce, check, diff, venv_created);
        };
        self.data(&mut r, None);
        Step::Done(r)
    }

    fn decide(
        self,
        before: BTreeMap<String, String>,
        answer: &Answer,
        nonce: String,
        check: bool,
        diff: bool,
        venv_created: bool,
    ) -> Step {
        let always_runs = self.requirements.is_some() || self.state == State::Latest;
        let is_met = |q: &Req| match (before.get(&normalize(&q.name)), &q.version) {
            (None, _) => false,
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
        };
        let words: Vec<String> = match self.state {
            State::Absent => {
                let installed: Vec<String> = self
                    .reqs
                    .iter()
                    .filter(|q| before.contains_key(&normalize(&q.name)))
                    .map(|q| q.name.clone())
                    .collect();
                if installed.is_empty() {
                    let mut r = TaskResult::ok();
                    self.data(&mut r, None);
                    return Step::Done(r);
                }
                let mut w = vec!["uninstall".to_string(), "-y".into()];
                w.extend(installed);
                w
            }
            _ if check && always_runs => {
                let out = tool::output(answer, "pip").map(|o| o.1).unwrap_or_default();
                let would = out.lines().find(|l| l.starts_with("Would install"));
                let mut r = if would.is_some() || venv_created {
                    TaskResult::changed()
                } else {
                    TaskResult::ok()
                };
                r.msg = would.map(str::to_string);
                r.stdout = Some(out);
                self.data(&mut r, None);
                return Step::Done(r);
            }
            _ if always_runs => {
                let mut w = self.install_words(self.state == State::Latest, false);
                if let Some(req) = &self.requirements {
                    w.extend(["-r".into(), req.clone()]);
                }
                w.extend(self.reqs.iter().map(Req::spec));
                w
            }
            _ => {
                let missing: Vec<String> = self
                    .reqs
                    .iter()
                    .filter(|q| !is_met(q))
                    .map(Req::spec)
                    .collect();
                if missing.is_empty() {
                    let mut r = if venv_created {
                        TaskResult::changed()
                    } else {
                        TaskResult::ok()
                    };
                    self.data(&mut r, None);
                    return Step::Done(r);
                }
                let mut w = self.install_words(false, false);
                w.extend(missing);
                w
            }
        };
        let cmd = format!("pip {}", words.join(" "));
        if check {
            let mut r = TaskResult::changed().with_msg(cmd.clone());
            if diff {
                r.diff.push(self.diff_of(&before, None));
            }
            self.data(&mut r, Some(cmd));
            return Step::Done(r);
        }
        let mut s = self.head(&nonce, false);
        s.push_str(&tool::run("pip", &self.cmd_text(&words)));
        s.push_str(&Self::freeze_lines("pip-freeze"));
        s.push_str("_b done 1\n");
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &nonce);
                if let Some(r) = Self::failure(&answer) {
                    return Step::Done(r);
                }
                let after =
                    parse_freeze(&tool::output(&answer, "pip-freeze").unwrap_or_default().1);
                let stdout = tool::output(&answer, "pip").map(|o| o.1);
                // pip said yes; check the packages are as asked.
                let wrong: Vec<String> = self
                    .reqs
                    .iter()
                    .filter(|q| match self.state {
                        State::Absent => after.contains_key(&normalize(&q.name)),
                        _ => match (after.get(&normalize(&q.name)), &q.version) {
                            (None, _) => true,
                            (Some(have), Some(want)) => have != want,
                            (Some(_), None) => false,
                        },
                    })
                    .map(Req::spec)
                    .collect();
                if !wrong.is_empty() {
                    let mut r = TaskResult::failed(format!(
                        "pip exited 0 but {} {}: {}",
                        wrong.join(", "),
                        if self.state == State::Absent {
                            "is still installed"
                        } else {
                            "is not installed"
                        },
                        stdout.clone().unwrap_or_default()
                    ));
                    r.stdout = stdout;
                    return Step::Done(r);
                }
                let mut r = if after != before || venv_created {
                    TaskResult::changed()
                } else {
                    TaskResult::ok()
                };
                if diff && after != before {
                    r.diff.push(self.diff_of(&before, Some(&after)));
                }
                r.stdout = stdout;
                self.data(&mut r, Some(cmd));
                Step::Done(r)
            }),
        }
    }

    /// The requested packages' versions before and after (`after: None`:
    /// what check mode expects).
    fn diff_of(
        &self,
        before: &BTreeMap<String, String>,
        after: Option<&BTreeMap<String, String>>,
    ) -> FileDiff {
        let line = |m: &BTreeMap<String, String>, q: &Req| {
            format!(
                "{}: {}\n",
                q.name,
                m.get(&normalize(&q.name))
                    .map_or("not installed", String::as_str)
            )
        };
        let (mut b, mut a) = (String::new(), String::new());
        match after {
            Some(after) => {
                for (k, v) in before {
                    b.push_str(&format!("{k}=={v}\n"));
                }
                for (k, v) in after {
                    a.push_str(&format!("{k}=={v}\n"));
                }
            }
            None => {
                for q in &self.reqs {
                    b.push_str(&line(before, q));
                    let want = match (self.state, &q.version) {
                        (State::Absent, _) => "not installed".to_string(),
                        (_, Some(v)) => v.clone(),
                        (_, None) => "installed".to_string(),
                    };
                    a.push_str(&format!("{}: {want}\n", q.name));
                }
            }
        }
        FileDiff {
            path: "pip packages".into(),
            before: b,
            after: a,
        }
    }
}

impl Module for Pip {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        Ok(Task::from_args(args)?.step(ctx.nonce, ctx.check_mode, ctx.diff))
    }
}

/// Test support: a pure-Python wheel built at test time (no network).
#[cfg(test)]
pub(crate) mod testwheel {
    use std::path::Path;
    use std::process::Command;

    /// Writes `baton_test_pip-VERSION-py3-none-any.whl` into `dir`.
    pub fn build(dir: &Path, dist: &str, version: &str) {
        let script = r#"
import base64, hashlib, sys, zipfile, os
d, dist, ver = sys.argv[1], sys.argv[2], sys.argv[3]
mod = dist.replace('-', '_')
files = {f"{mod}/__init__.py": f"VERSION = {ver!r}\n",
         f"{mod}-{ver}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {ver}\n",
         f"{mod}-{ver}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: baton-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
record = f"{mod}-{ver}.dist-info/RECORD"
lines = []
for n, t in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()
    lines.append(f"{n},sha256={h},{len(t.encode())}")
lines.append(f"{record},,")
files[record] = "\n".join(lines) + "\n"
with zipfile.ZipFile(os.path.join(d, f"{mod}-{ver}-py3-none-any.whl"), "w") as z:
    for n, t in files.items():
        z.writestr(n, t)
"#;
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(dir)
            .args([dist, version])
            .output()
            .expect("python3");
        assert!(out.status.success(), "{out:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;

    #[test]
    fn names_compare_as_pip_does() {
        assert_eq!(normalize("Baton_Test.pip"), "baton-test-pip");
        let f = parse_freeze("Baton_Test_Pip==1.0\npip==23.0\nfoo @ file:///x/foo.whl\n");
        assert_eq!(f["baton-test-pip"], "1.0");
        assert_eq!(f["foo"], "file:///x/foo.whl");
        assert!(parse_req("a>=1").unwrap_err().contains("NAME==VERSION"));
        assert_eq!(parse_req("a==1").unwrap().version.as_deref(), Some("1"));
    }

    #[test]
    fn a_virtualenv_gets_a_local_wheel_once_and_loses_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let wheels = dir.path().join("wheels");
        std::fs::create_dir(&wheels).unwrap();
        testwheel::build(&wheels, "baton-test-pip", "1.0");
        testwheel::build(&wheels, "baton-test-pip", "2.0");
        let venv = dir.path().join("venv");
        let extra = format!("--no-index --find-links {}", wheels.display());
        let base = json!({"name": ["baton-test-pip"], "virtualenv": venv,
            "virtualenv_command": "python3 -m venv", "extra_args": extra});
        let check = Ctx {
            check: true,
            diff: true,
            ..Ctx::default()
        };
        let mut v1 = base.clone();
        v1["version"] = json!("1.0");

        let dry = run(&Pip, v1.clone(), &check);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(!venv.exists(), "check mode created nothing");
        let first = run(&Pip, v1.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        let freeze = || {
            let out = std::process::Command::new(venv.join("bin/pip"))
                .args(["freeze", "--all"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert!(freeze().contains("baton-test-pip==1.0"), "{}", freeze());
        assert_eq!(run(&Pip, v1.clone(), &Ctx::default()).status, Status::Ok);

        // Another version: check mode says so and changes nothing.
        let v2 = json!({"name": "baton_test_pip==2.0", "virtualenv": venv, "extra_args": extra});
        let dry = run(&Pip, v2.clone(), &check);
        assert_eq!(dry.status, Status::Changed);
        assert_eq!(dry.diff[0].after, "baton_test_pip: 2.0\n");
        assert!(freeze().contains("baton-test-pip==1.0"));
        assert_eq!(
            run(&Pip, v2.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert!(freeze().contains("baton-test-pip==2.0"));
        assert_eq!(run(&Pip, v2, &Ctx::default()).status, Status::Ok);

        // latest: already the newest, in check mode (pip --dry-run) and for real.
        let mut latest = base.clone();
        latest["state"] = json!("latest");
        assert_eq!(run(&Pip, latest.clone(), &check).status, Status::Ok);
        assert_eq!(run(&Pip, latest, &Ctx::default()).status, Status::Ok);

        // A requirements file pinning 1.0: changed once (freeze differs).
        let req = dir.path().join("requirements.txt");
        std::fs::write(&req, "baton-test-pip==1.0\n").unwrap();
        let by_file = json!({"requirements": req, "virtualenv": venv, "extra_args": extra});
        let dry = run(&Pip, by_file.clone(), &check);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(freeze().contains("baton-test-pip==2.0"));
        assert_eq!(
            run(&Pip, by_file.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert!(freeze().contains("baton-test-pip==1.0"));
        assert_eq!(run(&Pip, by_file, &Ctx::default()).status, Status::Ok);

        let gone = json!({"name": "baton-test-pip", "state": "absent", "virtualenv": venv});
        assert_eq!(run(&Pip, gone.clone(), &check).status, Status::Changed);
        assert!(freeze().contains("baton-test-pip"));
        assert_eq!(
            run(&Pip, gone.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert!(!freeze().contains("baton-test-pip"));
        assert_eq!(run(&Pip, gone, &Ctx::default()).status, Status::Ok);

        // Failures: a package no index offers, a missing virtualenv tool.
        let none = json!({"name": "baton-test-nothing", "virtualenv": venv, "extra_args": extra});
        let r = run(&Pip, none, &Ctx::default());
        assert!(
            r.msg
                .clone()
                .unwrap()
                .starts_with("pip failed (exit status 1): "),
            "{r:?}"
        );
        let r = run(
            &Pip,
            json!({"name": "x", "virtualenv": dir.path().join("v2"), "virtualenv_command": "baton-no-venv"}),
            &Ctx::default(),
        );
        assert_eq!(r.msg.as_deref(), Some("baton-no-venv not found on host"));
    }

    #[test]
    fn argument_errors() {
        assert!(
            prepare_error(&Pip, json!({"name": ["a", "b"], "version": "1"}))
                .contains("exactly one")
        );
        assert!(prepare_error(&Pip, json!({"name": "git+https://x/y"})).contains("NAME==VERSION"));
        assert!(
            prepare_error(&Pip, json!({"name": "a", "extra_args": "'x"})).contains("unbalanced")
        );
    }
}

//! `package`: the OS package manager's module, picked from the
//! `ansible_pkg_mgr` fact (`apt`, `dnf`, `yum`) as Ansible's generic
//! `package` does, and run with the same code (`name`, `state`).
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/package_module.html
//!
//! `use` names the manager instead (`auto`, the default, reads the fact).
//! Without gathered facts one extra script asks the host which tools it has
//! (as Ansible gathers the fact itself). A host whose manager is none of
//! these fails with Ansible's message. Only `name` and `state` reach the
//! manager's module, as in Ansible.
//!
//! Round trips: those of `apt` or `dnf`, plus 1 when the fact is missing.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::packaging::apt::{name_list, AptTask};
use crate::modules::packaging::dnf::DnfTask;
use crate::modules::packaging::{check_names, PkgState};
use crate::modules::system::setup::{os_family, pkg_mgr};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Package;

static SPEC: ModuleSpec = ModuleSpec {
    name: "package",
    args: &[
        ArgSpec::required("name"),
        ArgSpec::optional("state").choices(&[
            "present",
            "installed",
            "absent",
            "removed",
            "latest",
        ]),
        ArgSpec::optional("use").choices(&["auto", "apt", "dnf", "yum"]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

struct Request {
    names: Vec<String>,
    state: PkgState,
    nonce: String,
    check: bool,
    diff: bool,
}

impl Request {
    /// The manager's module step, or a failure naming the manager.
    fn delegate(self, manager: &str) -> Step {
        match manager {
            "apt" => AptTask {
                names: self.names,
                state: self.state,
                deb: None,
                update_cache: false,
                cache_valid_time: 0,
                purge: false,
                install_recommends: None,
                lock_timeout: 60,
            }
            .step(&self.nonce, self.check, self.diff),
            "dnf" | "yum" => DnfTask {
                binary: if manager == "dnf" { "dnf" } else { "yum" },
                names: self.names,
                state: self.state,
            }
            .step(&self.nonce, self.check, self.diff),
            other => Step::Done(TaskResult::failed(format!(
                "Could not find a matching action for the \"{other}\" package manager."
            ))),
        }
    }
}

impl Module for Package {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let names = name_list(&r, "name")?;
        check_names(&names).map_err(ModuleError::Args)?;
        let request = Request {
            names,
            state: PkgState::parse(r.choice("state")?.as_deref()),
            nonce: ctx.nonce.to_string(),
            check: ctx.check_mode,
            diff: ctx.diff,
        };
        let chosen = r.choice("use")?.filter(|u| u != "auto");
        let fact = match chosen {
            Some(u) => Some(u),
            None => match ctx.eval.lookup("ansible_pkg_mgr") {
                Ok(Some(Value::String(s))) => Some(s),
                _ => None,
            },
        };
        if let Some(manager) = fact {
            return Ok(request.delegate(&manager));
        }
        // No facts: ask the host, as setup does.
        let script = format!(
            "{}if [ -r /etc/os-release ]; then . /etc/os-release; fi\n_b os_id \"${{ID:-}}\"\n_b os_like \"${{ID_LIKE:-}}\"\nfor _pm in apt-get dnf yum; do command -v \"$_pm\" >/dev/null 2>&1 && _b has_pkg_mgr \"$_pm\"; done\n_b done 1\n",
            prelude(ctx.nonce)
        );
        Ok(Step::Remote {
            script,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &request.nonce);
                if answer.get("done") != Some("1") {
                    return Step::Done(answer.unexpected());
                }
                let tools: Vec<String> = answer
                    .values()
                    .filter(|(k, _)| *k == "has_pkg_mgr")
                    .map(|(_, v)| v.to_string())
                    .collect();
                let family = os_family(
                    answer.get("os_id").unwrap_or_default(),
                    answer.get("os_like").unwrap_or_default(),
                );
                let manager = pkg_mgr(family, &tools);
                request.delegate(manager)
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, run, Ctx};
    use crate::modules::packaging::{apt::testdeb, dnf};
    use crate::modules::{Status, TaskContext};
    use serde_json::json;

    #[test]
    fn the_fact_picks_dnf_or_yum_and_unknown_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (db, repo, log) = (
            dir.path().join("db"),
            dir.path().join("repo"),
            dir.path().join("log"),
        );
        std::fs::write(&repo, "tree 2.1-1\n").unwrap();
        for manager in ["dnf", "yum"] {
            let path = dnf::fake::tools(dir.path(), manager);
            let env = [
                ("PATH", path.as_str()),
                ("FAKE_RPMDB", db.to_str().unwrap()),
                ("FAKE_REPO", repo.to_str().unwrap()),
                ("FAKE_LOG", log.to_str().unwrap()),
            ];
            let mut ctx = Ctx::default();
            ctx.eval
                .vars
                .insert("ansible_pkg_mgr".into(), json!(manager));
            let args = json!({"name": "tree", "state": "present"});
            let context = TaskContext {
                host: "h",
                check_mode: false,
                diff: false,
                nonce: "pk9",
                search_paths: &[],
                eval: &ctx.eval,
            };
            let args = args.as_object().cloned().unwrap();
            let r = finish_with_env(Package.prepare(&args, &context).unwrap(), &env).0;
            assert_eq!(r.status, Status::Changed, "{manager}: {r:?}");
            assert!(std::fs::read_to_string(&log)
                .unwrap()
                .contains(&format!("{manager} -y install tree\n")));
            let r = finish_with_env(Package.prepare(&args, &context).unwrap(), &env).0;
            assert_eq!(r.status, Status::Ok);
            std::fs::remove_file(&db).unwrap();
        }
        let mut ctx = Ctx::default();
        ctx.eval
            .vars
            .insert("ansible_pkg_mgr".into(), json!("unknown"));
        let r = run(&Package, json!({"name": "tree"}), &ctx);
        assert_eq!(
            r.msg.as_deref(),
            Some("Could not find a matching action for the \"unknown\" package manager.")
        );
    }

    /// Without facts, the host is asked: this Debian machine uses apt.
    #[test]
    fn without_facts_the_host_is_asked_and_apt_does_the_work() {
        if !std::path::Path::new("/usr/bin/apt-get").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (name, _guard) = testdeb::name("pkg");
        let deb = testdeb::build(dir.path(), &name, "1.0");
        // Installed by hand (package has no `deb`): then package sees it.
        let check = Ctx {
            check: true,
            ..Ctx::default()
        };
        let gone = json!({"name": name, "state": "absent"});
        assert_eq!(
            run(&Package, gone.clone(), &Ctx::default()).status,
            Status::Ok
        );
        testdeb::install(&deb);
        assert_eq!(
            run(&Package, json!({"name": name}), &Ctx::default()).status,
            Status::Ok
        );
        assert_eq!(run(&Package, gone.clone(), &check).status, Status::Changed);
        assert_eq!(testdeb::status(&name), "installed 1.0");
        assert_eq!(
            run(&Package, gone.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(testdeb::status(&name), "");
        assert_eq!(run(&Package, gone, &Ctx::default()).status, Status::Ok);
    }
}

//! The module suite over every transport: local, a loopback sshd, and (in
//! tests/lab_e2e.rs) a lab node. The suite itself is tests/support/module_suite.rs.

mod support;

use std::time::{Duration, Instant};

use baton::transport::{Connection, ConnectionSpec};
use serde_json::{json, Value};
use support::module_suite::*;
use support::sshd;

async fn local() -> Connection {
    Connection::open(&ConnectionSpec::local("localhost"))
        .await
        .expect("local connection")
}

macro_rules! local_test {
    ($name:ident, $suite:ident) => {
        #[tokio::test]
        async fn $name() {
            let conn = local().await;
            let root = tempfile::tempdir().unwrap();
            $suite(&Harness::new(&conn), root.path()).await;
        }
    };
}

local_test!(local_command, command_suite);
local_test!(local_shell_and_raw, shell_suite);
local_test!(local_copy, copy_suite);
local_test!(local_template, template_suite);
local_test!(local_file, file_suite);
local_test!(local_lineinfile, lineinfile_suite);
local_test!(local_blockinfile, blockinfile_suite);
local_test!(local_cron, cron_suite);
local_test!(local_wait_for, wait_for_suite);
local_test!(local_stat, stat_suite);
local_test!(local_controller_modules, controller_modules_suite);
local_test!(local_service, service_suite);
local_test!(local_replace, replace_suite);
local_test!(local_slurp_and_fetch, slurp_and_fetch_suite);
local_test!(local_sysctl_file_only, sysctl_suite);
local_test!(local_ssh_keys, ssh_keys_suite);
local_test!(local_unarchive, unarchive_suite);
local_test!(local_get_url, get_url_suite);
local_test!(local_uri, uri_suite);
local_test!(local_git, git_suite);
local_test!(local_mount, mount_suite);
local_test!(local_user_group, user_group_suite);
local_test!(local_apt, apt_suite);
local_test!(local_pip, pip_suite);
local_test!(local_ownership, ownership_suite);

/// The whole suite in one go, as an SSH run will call it.
#[tokio::test]
async fn local_full_suite() {
    let conn = local().await;
    let root = tempfile::tempdir().unwrap();
    run_suite(&conn, root.path()).await;
}

/// Milliseconds per task for the common modules once nothing changes (the
/// steady state of a re-run); printed for the record, bounded loosely so a
/// pathological slowdown fails.
#[tokio::test]
async fn local_steady_state_timings() {
    let conn = local().await;
    let root = tempfile::tempdir().unwrap();
    let h = Harness::new(&conn);
    let conf = p(root.path(), "t.conf");
    let tasks: Vec<(&str, Value)> = vec![
        ("command", json!({"cmd": "true"})),
        (
            "file",
            json!({"path": p(root.path(), "d"), "state": "directory", "mode": "0755"}),
        ),
        (
            "copy",
            json!({"content": "x=1\n", "dest": conf, "mode": "0644"}),
        ),
        ("lineinfile", json!({"path": conf, "line": "x=1"})),
    ];
    for (module, args) in &tasks {
        h.run(module, args.clone(), NORMAL).await;
    }
    const ROUNDS: u32 = 20;
    for (module, args) in &tasks {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            h.run(module, args.clone(), NORMAL).await;
        }
        let per_task = started.elapsed() / ROUNDS;
        println!(
            "{module}: {:.2} ms per task (local, steady state)",
            per_task.as_secs_f64() * 1000.0
        );
        assert!(
            per_task < Duration::from_millis(200),
            "{module} took {per_task:?} per task"
        );
    }
}

/// The whole suite over SSH to a real sshd on 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_full_suite() {
    let server = sshd::TestSshd::start();
    let conn = Connection::open(&server.spec("loopback"))
        .await
        .expect("ssh connection");
    let root = tempfile::tempdir().unwrap();
    run_suite(&conn, root.path()).await;
    conn.close().await;
}

/// Owners and groups over SSH, where the worker's file-attribute helper
/// (not `stat`) reads them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_ownership() {
    let server = sshd::TestSshd::start();
    let conn = Connection::open(&server.spec("loopback"))
        .await
        .expect("ssh connection");
    let root = tempfile::tempdir().unwrap();
    ownership_suite(&Harness::new(&conn), root.path()).await;
    conn.close().await;
}

/// Options Ansible has and baton's user, group, package, apt, dnf and pip
/// lack are refused at load, naming the option.
#[test]
fn ansible_options_baton_lacks_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for (module, option) in [
        ("user", "expires"),
        ("user", "generate_ssh_key"),
        ("group", "non_unique"),
        ("package", "allow_downgrade"),
        ("apt", "autoremove"),
        ("dnf", "enablerepo"),
        ("pip", "editable"),
    ] {
        let path = dir.path().join(format!("{module}-{option}.yml"));
        std::fs::write(&path, format!("name: x\n{option}: true\n")).unwrap();
        let node = baton::yaml::parse_file(&path).unwrap();
        let m = baton::modules::find(&format!("ansible.builtin.{module}")).unwrap();
        let err = baton::load::args::parse(m, &node, None).unwrap_err();
        assert_eq!(
            err.message,
            format!("module `{module}` has no argument `{option}`")
        );
    }
}

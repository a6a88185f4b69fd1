//! The ssh transport against a real sshd on 127.0.0.1 (see tests/support/sshd.rs).

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::transport::ssh::SshConnection;
use baton::transport::{ExecOutput, ExecRequest, TransportError};
use sha2::{Digest, Sha256};
use support::sshd::{TestSshd, KNOWN_HOSTS_ENTRY_LINE};

fn script(text: &str) -> ExecRequest {
    ExecRequest {
        script: text.to_string(),
        ..Default::default()
    }
}

async fn connect(sshd: &TestSshd) -> SshConnection {
    match SshConnection::open(&sshd.spec("t1")).await {
        Ok(connection) => connection,
        Err(e) => panic!("connect failed: {e}\nsshd log:\n{}", sshd.log()),
    }
}

async fn run(connection: &SshConnection, text: &str) -> ExecOutput {
    connection
        .exec(&script(text))
        .await
        .unwrap_or_else(|e| panic!("exec failed: {e}"))
}

fn accepted_logins(sshd: &TestSshd) -> usize {
    sshd.log().matches("Accepted publickey").count()
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(pid);
        }
    }
    found
}

async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test]
async fn a_script_round_trip_returns_stdout_stderr_and_exit_code() {
    let sshd = TestSshd::start();
    let connection = connect(&sshd).await;
    let out = run(
        &connection,
        "echo \"out $(id -un)\"\nread line || echo no-stdin\necho err >&2\nexit 7\n",
    )
    .await;
    assert_eq!(out.stdout, format!("out {}\nno-stdin\n", sshd.user()));
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.code, Some(7));

    // The crate reports status 127 as an error of its own; for a script it is an exit code.
    let out = run(&connection, "echo before\nno-such-command-baton-test\n").await;
    assert_eq!(out.code, Some(127));
    assert_eq!(out.stdout, "before\n");
    assert!(out.stderr.contains("no-such-command-baton-test"), "{out:?}");

    let out = run(&connection, "kill -9 $$").await;
    assert_eq!(out.code, None, "killed by a signal: {out:?}");
    // ...and the connection is still good afterwards.
    assert_eq!(run(&connection, "echo ok").await.stdout, "ok\n");
    connection.close().await;
}

#[tokio::test]
async fn a_two_mebibyte_script_arrives_intact() {
    let sshd = TestSshd::start();
    let connection = connect(&sshd).await;
    let mut payload = String::new();
    let mut state: u32 = 0x1234_5678;
    while payload.len() < 2 * 1024 * 1024 {
        for _ in 0..63 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            payload.push(char::from(b'a' + ((state >> 16) % 26) as u8));
        }
        payload.push('\n');
    }
    let text = format!("sha256sum <<'BATON_EOF'\n{payload}BATON_EOF\necho done >&2\n");
    assert!(text.len() > 2 * 1024 * 1024);
    let out = run(&connection, &text).await;
    let expected = hex::encode(Sha256::digest(payload.as_bytes()));
    assert_eq!(
        out.stdout.split_whitespace().next(),
        Some(expected.as_str())
    );
    assert_eq!(out.stderr, "done\n");
    assert_eq!(out.code, Some(0));
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_execs_share_one_connection() {
    let sshd = TestSshd::start();
    let connection = Arc::new(connect(&sshd).await);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let connection = Arc::clone(&connection);
        tasks.spawn(async move {
            let out = connection
                .exec(&script(&format!("sleep 1\necho task-{i}\n")))
                .await;
            (i, out)
        });
    }
    let mut seen = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, out) = joined.expect("task panicked");
        let out = out.unwrap_or_else(|e| panic!("exec {i} failed: {e}"));
        assert_eq!(out.stdout, format!("task-{i}\n"));
        assert_eq!(out.code, Some(0));
        seen.push(i);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..32).collect::<Vec<_>>());
    // 32 one-second sleeps in well under 32 s: they ran side by side.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(accepted_logins(&sshd), 1, "{}", sshd.log());
    if let Ok(connection) = Arc::try_unwrap(connection) {
        connection.close().await;
    }
}

#[tokio::test]
async fn a_timeout_kills_the_remote_script() {
    let sshd = TestSshd::start();
    let connection = connect(&sshd).await;
    for (name, marker, body) in [
        ("plain", "31.4159", ""),
        // A script that ignores TERM is killed by the KILL that follows.
        ("ignores TERM", "27.1828", "trap '' TERM\n"),
    ] {
        let started = Instant::now();
        let result = connection
            .exec(&ExecRequest {
                script: format!("{body}sleep {marker}\necho finished\n"),
                timeout: Some(Duration::from_secs(1)),
                ..Default::default()
            })
            .await;
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(TransportError::Timeout(d)) if d == Duration::from_secs(1)),
            "{name}: {result:?}"
        );
        assert!(elapsed < Duration::from_secs(6), "{name}: took {elapsed:?}");
        let needle = format!("sleep {marker}");
        assert!(
            wait_until(Duration::from_secs(4), || processes_with(&needle)
                .is_empty())
            .await,
            "{name}: the remote `{needle}` is still running"
        );
    }
    // A script that finishes in time is not a timeout, and the connection still works.
    let out = connection
        .exec(&ExecRequest {
            script: "echo quick".into(),
            timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        })
        .await
        .expect("quick script");
    assert_eq!(out.stdout, "quick\n");
    connection.close().await;
}

#[tokio::test]
async fn a_closed_port_is_unreachable_at_once() {
    let sshd = TestSshd::start();
    let mut spec = sshd.spec("closed");
    // Free the port sshd listens on: nothing is there any more.
    let port = sshd.port();
    drop(sshd);
    spec.port = Some(port);
    let started = Instant::now();
    let result = SshConnection::open(&spec).await;
    let elapsed = started.elapsed();
    match result {
        Err(TransportError::Unreachable(reason)) => assert_eq!(
            reason,
            format!("connect to host 127.0.0.1 port {port}: Connection refused")
        ),
        Err(other) => panic!("expected unreachable, got {other:?}"),
        Ok(_) => panic!("connected to a closed port"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn an_unreadable_key_file_is_named_before_ssh_runs() {
    let sshd = TestSshd::start();
    let mut spec = sshd.spec("badkey");
    // A path under a regular file cannot be opened, even by root.
    let key = sshd.host_key().join("not-a-key");
    spec.private_key = Some(key.clone());
    match SshConnection::open(&spec).await {
        Err(TransportError::Unreachable(reason)) => {
            assert!(
                reason.starts_with(&format!("cannot read the private key {}", key.display())),
                "{reason}"
            );
            assert!(reason.contains("ansible_ssh_private_key_file"), "{reason}");
        }
        Err(other) => panic!("expected unreachable, got {other:?}"),
        Ok(_) => panic!("connected with an unreadable key"),
    }
}

#[tokio::test]
async fn a_wrong_key_is_unreachable_with_permission_denied() {
    let sshd = TestSshd::start();
    let mut spec = sshd.spec("wrongkey");
    spec.private_key = Some(sshd.host_key());
    match SshConnection::open(&spec).await {
        Err(TransportError::Unreachable(reason)) => assert_eq!(
            reason,
            format!("{}@127.0.0.1: Permission denied (publickey).", sshd.user())
        ),
        Err(other) => panic!("expected unreachable, got {other:?}"),
        Ok(_) => panic!("logged in with a key that is not authorised"),
    }
}

#[tokio::test]
async fn a_changed_host_key_is_refused_naming_the_known_hosts_entry() {
    let mut sshd = TestSshd::start();
    connect(&sshd).await.close().await;
    sshd.regenerate_host_key_and_restart();
    match SshConnection::open(&sshd.spec("changed")).await {
        Err(TransportError::HostKey(message)) => {
            let entry = format!("{}:{KNOWN_HOSTS_ENTRY_LINE}", sshd.known_hosts().display());
            assert!(message.contains(&entry), "{message}");
            assert!(message.contains("ssh-keygen -f"), "{message}");
            assert!(
                message.contains(&format!("-R \"[127.0.0.1]:{}\"", sshd.port())),
                "{message}"
            );
        }
        Err(other) => panic!("expected a host key error, got {other:?}"),
        Ok(_) => panic!("connected despite a changed host key"),
    }
}

#[tokio::test]
async fn accept_new_learns_an_unknown_key_but_refuses_a_changed_one() {
    let mut sshd = TestSshd::start();
    let known_hosts = sshd.dir().join("learned_known_hosts");
    let mut spec = sshd.spec("acceptnew");
    spec.known_hosts = Some(known_hosts.clone());
    spec.accept_new_host_keys = true;

    let connection = SshConnection::open(&spec)
        .await
        .expect("accept-new connects");
    assert_eq!(run(&connection, "echo hi").await.stdout, "hi\n");
    connection.close().await;
    let key = sshd.known_hosts_entry();
    let key_material = key.split_once(' ').map(|(_, k)| k).unwrap_or("");
    let learned = std::fs::read_to_string(&known_hosts).expect("known_hosts was written");
    assert!(learned.contains(key_material), "{learned}");

    sshd.regenerate_host_key_and_restart();
    match SshConnection::open(&spec).await {
        Err(TransportError::HostKey(message)) => {
            assert!(message.contains("CHANGED"), "{message}");
            assert!(
                message.contains(&format!("{}:1", known_hosts.display())),
                "{message}"
            );
        }
        Err(other) => panic!("expected a host key error, got {other:?}"),
        Ok(_) => panic!("accept-new accepted a changed host key"),
    }
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        learned,
        "the old entry must stay"
    );
}

#[tokio::test]
async fn strict_checking_refuses_an_unknown_key_even_if_the_inventory_says_otherwise() {
    let sshd = TestSshd::start();
    let empty = sshd.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    for options in [
        vec![],
        vec![("StrictHostKeyChecking".to_string(), "no".to_string())],
    ] {
        let mut spec = sshd.spec("strict");
        spec.known_hosts = Some(empty.clone());
        spec.ssh_options = options.clone();
        match SshConnection::open(&spec).await {
            Err(TransportError::HostKey(message)) => {
                assert!(
                    message.contains("No ED25519 host key is known for"),
                    "{message}"
                );
                assert!(message.contains(&empty.display().to_string()), "{message}");
            }
            Err(other) => panic!("{options:?}: expected a host key error, got {other:?}"),
            Ok(_) => panic!("{options:?}: connected to a host with an unknown key"),
        }
        assert_eq!(
            std::fs::read_to_string(&empty).unwrap(),
            "",
            "nothing learned"
        );
    }
}

#[tokio::test]
async fn ssh_options_set_user_and_port() {
    let sshd = TestSshd::start();
    let mut spec = sshd.spec("options");
    spec.port = None;
    spec.user = None;
    spec.ssh_options = vec![
        ("Port".into(), sshd.port().to_string()),
        ("User".into(), sshd.user().to_string()),
    ];
    let connection = SshConnection::open(&spec)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_eq!(run(&connection, "id -un").await.stdout.trim(), sshd.user());
    connection.close().await;
}

#[tokio::test]
async fn an_ssh_config_file_replaces_the_default_configs() {
    let sshd = TestSshd::start();
    let config = sshd.dir().join("client config");
    std::fs::write(
        &config,
        format!(
            "Host baton-test-alias\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile \"{}\"\n  UserKnownHostsFile \"{}\"\n",
            sshd.port(),
            sshd.user(),
            sshd.client_key().display(),
            sshd.known_hosts().display()
        ),
    )
    .unwrap();
    let mut spec = sshd.spec("configured");
    spec.address = "baton-test-alias".into();
    spec.port = None;
    spec.user = None;
    spec.private_key = None;
    spec.known_hosts = None;
    spec.ssh_config = Some(config);
    let connection = SshConnection::open(&spec)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_eq!(
        run(&connection, "echo via-alias").await.stdout,
        "via-alias\n"
    );
    connection.close().await;
}

/// Plain ssh reads `~/.ssh/config` from the passwd entry's home, whatever
/// `$HOME` says; so must baton. The test re-runs itself in a private mount
/// namespace with a tmpfs over the home directory, so the real one is untouched.
#[test]
fn the_user_ssh_config_is_found_through_the_passwd_entry_not_home() {
    const INNER: &str = "BATON_TEST_USER_CONFIG_INNER";
    if let Ok(config) = std::env::var(INNER) {
        return connect_through_user_config(&config);
    }
    let home = passwd_home();
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    let has_unshare = std::process::Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !is_root || !has_unshare || home.is_empty() {
        eprintln!("NOTE: needs root and unshare; skipping the ~/.ssh/config test");
        return;
    }
    let sshd = TestSshd::start();
    let config = format!(
        "Host baton-user-alias\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
        sshd.port(),
        sshd.user(),
        sshd.client_key().display(),
        sshd.known_hosts().display()
    );
    let test_binary = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount -t tmpfs baton-test "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&home)
        .arg(test_binary)
        .args([
            "--exact",
            "the_user_ssh_config_is_found_through_the_passwd_entry_not_home",
            "--nocapture",
        ])
        .env(INNER, config)
        .env("HOME", "/nonexistent")
        .output()
        .expect("run the test in a mount namespace");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn passwd_home() -> String {
    std::process::Command::new("sh")
        .args(["-c", "getent passwd \"$(id -u)\" | cut -d: -f6"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Inside the namespace: write ~/.ssh/config and connect by its alias alone.
fn connect_through_user_config(config: &str) {
    let ssh_dir = std::path::Path::new(&passwd_home()).join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::write(ssh_dir.join("config"), config).unwrap();
    assert_eq!(std::env::var("HOME").as_deref(), Ok("/nonexistent"));
    let spec = baton::transport::ConnectionSpec {
        kind: baton::transport::ConnectionKind::Ssh,
        ..baton::transport::ConnectionSpec::local("baton-user-alias")
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let connection = SshConnection::open(&spec)
            .await
            .unwrap_or_else(|e| panic!("the user's ssh config was not applied: {e}"));
        assert_eq!(
            run(&connection, "echo via-user-config").await.stdout,
            "via-user-config\n"
        );
        connection.close().await;
    });
}

#[tokio::test]
async fn close_and_drop_end_the_master_and_remove_the_control_dir() {
    let sshd = TestSshd::start();
    let connection = connect(&sshd).await;
    let dir = connection.control_dir().to_path_buf();
    assert!(dir.exists());
    assert!(
        dir.as_os_str().len() < 40,
        "control dir {} is too long for a socket path",
        dir.display()
    );
    run(&connection, "true").await;
    assert!(!sshd.session_pids().is_empty());
    connection.close().await;
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        wait_until(Duration::from_secs(3), || sshd.session_pids().is_empty()).await,
        "the master did not disconnect"
    );

    let connection = connect(&sshd).await;
    let dir = connection.control_dir().to_path_buf();
    drop(connection);
    assert!(!dir.exists(), "{} left behind after drop", dir.display());
    assert!(
        wait_until(Duration::from_secs(3), || sshd.session_pids().is_empty()).await,
        "the master did not disconnect after drop"
    );
}

/// The end of a run closes every connection at once: every master ends
/// and every control directory goes.
#[tokio::test]
async fn close_many_ends_every_master_and_removes_their_control_dirs() {
    let sshd = TestSshd::start();
    let mut connections = Vec::new();
    for _ in 0..3 {
        connections.push(connect(&sshd).await);
    }
    for connection in &connections {
        run(connection, "true").await;
    }
    let dirs: Vec<_> = connections
        .iter()
        .map(|c| c.control_dir().to_path_buf())
        .collect();
    assert!(sshd.session_pids().len() >= 3);
    SshConnection::close_many(connections).await;
    for dir in &dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert!(
        wait_until(Duration::from_secs(3), || sshd.session_pids().is_empty()).await,
        "a master did not disconnect"
    );
}

#[tokio::test]
async fn a_dead_link_is_unreachable_within_about_the_connect_timeout() {
    let sshd = TestSshd::start();
    let mut spec = sshd.spec("deadlink");
    spec.connect_timeout = Duration::from_secs(3);
    let connection = SshConnection::open(&spec).await.expect("connect");
    assert_eq!(run(&connection, "echo up").await.stdout, "up\n");

    // The server stops answering anything, as when the link goes down.
    let frozen = sshd.freeze_sessions();
    assert!(!frozen.pids().is_empty());
    let started = Instant::now();
    let result = connection.exec(&script("echo never")).await;
    let elapsed = started.elapsed();
    println!("dead link reported after {elapsed:?}: {result:?}");
    match &result {
        Err(TransportError::Unreachable(reason)) => {
            assert!(reason.contains("Timeout, server"), "{reason}")
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    assert!(
        elapsed <= spec.connect_timeout + Duration::from_secs(2),
        "noticed after {elapsed:?}"
    );
    // Later tasks on the host fail at once the same way.
    let started = Instant::now();
    assert!(matches!(
        connection.exec(&script("true")).await,
        Err(TransportError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(frozen);
    connection.close().await;
}

#[tokio::test]
async fn become_runs_the_script_through_sudo() {
    if std::process::Command::new("sudo")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("NOTE: sudo is not installed; skipping the become test");
        return;
    }
    let sshd = TestSshd::start();
    let connection = connect(&sshd).await;
    let out = connection
        .exec(&ExecRequest {
            script: "id -un\necho \"home=$HOME\"\n".into(),
            become_user: Some("nobody".into()),
            timeout: None,
        })
        .await
        .expect("exec");
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("nobody"));
    // -H: HOME is the target user's.
    let nobody_home = std::process::Command::new("sh")
        .args(["-c", "getent passwd nobody | cut -d: -f6"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(lines.next(), Some(format!("home={nobody_home}").as_str()));

    // With a timeout, `timeout` runs inside sudo, as the become user.
    let out = connection
        .exec(&ExecRequest {
            script: "id -un".into(),
            become_user: Some("nobody".into()),
            timeout: Some(Duration::from_secs(5)),
        })
        .await
        .expect("exec");
    assert_eq!(out.stdout, "nobody\n");

    let result = connection
        .exec(&ExecRequest {
            script: "sleep 29.3141\n".into(),
            become_user: Some("nobody".into()),
            timeout: Some(Duration::from_secs(1)),
        })
        .await;
    assert!(
        matches!(result, Err(TransportError::Timeout(_))),
        "{result:?}"
    );
    assert!(
        wait_until(Duration::from_secs(4), || processes_with("sleep 29.3141")
            .is_empty())
        .await,
        "the become user's script is still running"
    );
    connection.close().await;
}

/// The median cost of one task on a warm connection: (median, p90) over 200 execs.
async fn warm_latency(sshd: &TestSshd) -> (Duration, Duration) {
    let connection = connect(sshd).await;
    for _ in 0..10 {
        run(&connection, "true").await;
    }
    let mut samples = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        let out = run(&connection, "true").await;
        samples.push(started.elapsed());
        assert_eq!(out.code, Some(0));
    }
    connection.close().await;
    samples.sort_unstable();
    (samples[100], samples[180])
}

/// A figure, not a pass/fail check (target: at most 5 ms per task). Run with
/// `--nocapture` to see it. The first figure is the transport's own cost; the
/// second adds whatever the user's `~/.bashrc` costs on this machine, which
/// sshd's login shell reads for every command.
#[tokio::test]
async fn warm_exec_latency_is_measured() {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let sshd = TestSshd::start();
    let (median, p90) = warm_latency(&sshd).await;
    let hidden = sshd.hidden_shell_rc().map(Path::to_path_buf);
    drop(sshd);
    let shell = match &hidden {
        Some(rc) => format!("{} hidden", rc.display()),
        None => "no ~/.bashrc hidden".to_string(),
    };
    println!(
        "ssh warm exec latency, 200 execs ({shell}): median {:.2} ms, p90 {:.2} ms",
        ms(median),
        ms(p90)
    );
    if let Some(rc) = hidden {
        let sshd = TestSshd::start_with_shell_rc();
        let (median, p90) = warm_latency(&sshd).await;
        println!(
            "ssh warm exec latency, 200 execs (with this machine's {}): median {:.2} ms, p90 {:.2} ms",
            rc.display(),
            ms(median),
            ms(p90)
        );
    }
}

/// `--persist`: the master outlives the connection, a second open reuses it
/// without logging in again, and `close_all` ends it by its socket.
#[tokio::test]
async fn a_persisted_master_is_reused_by_the_next_open_and_closed_by_its_socket() {
    use baton::transport::ssh::persist;
    use baton::transport::Persist;
    use std::os::unix::fs::PermissionsExt;

    let sshd = TestSshd::start();
    let root_parent = tempfile::Builder::new()
        .prefix("bp")
        .tempdir_in("/tmp")
        .unwrap();
    let root = root_parent.path().join("p");
    let mut spec = sshd.spec("t1");
    spec.persist = Some(Persist {
        idle: Duration::from_secs(60),
        root: root.clone(),
    });

    let first = SshConnection::open(&spec)
        .await
        .unwrap_or_else(|e| panic!("connect failed: {e}\n{}", sshd.log()));
    assert!(!first.reused());
    assert_eq!(run(&first, "echo one").await.stdout, "one\n");
    let socket = first.control_socket().to_path_buf();
    first.close().await;
    assert_eq!(
        std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(socket.exists(), "the master's socket went away on close");
    assert_eq!(accepted_logins(&sshd), 1);

    let second = SshConnection::open(&spec).await.unwrap();
    assert!(second.reused(), "the second open connected again");
    assert_eq!(second.control_socket(), socket.as_path());
    assert_eq!(run(&second, "echo two").await.stdout, "two\n");
    second.close().await;
    assert_eq!(accepted_logins(&sshd), 1, "{}", sshd.log());

    // Other ssh options: another master, never the first one.
    let mut other = spec.clone();
    other.ssh_options.push(("Compression".into(), "yes".into()));
    let third = SshConnection::open(&other).await.unwrap();
    assert!(!third.reused());
    assert_ne!(third.control_socket(), socket.as_path());
    third.close().await;
    assert_eq!(accepted_logins(&sshd), 2);

    let listed = persist::list(&root).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed
        .iter()
        .all(|m| m.alive && m.target.contains("127.0.0.1")));
    let closed = persist::close_all(&root).await;
    assert_eq!(closed.len(), 2);
    assert!(closed.iter().all(|m| m.alive));
    assert!(!socket.exists());
    assert!(persist::list(&root).await.is_empty());

    // Closed: the next open logs in afresh.
    let fourth = SshConnection::open(&spec).await.unwrap();
    assert!(!fourth.reused());
    fourth.close().await;
    assert_eq!(accepted_logins(&sshd), 3);
    persist::close_all(&root).await;
}

/// The CLI: `--persist` on one run and `baton_persist` on the next share one
/// login; `baton connections --close` ends the master by its socket.
#[test]
fn baton_runs_share_a_persisted_master_until_connections_close() {
    let sshd = TestSshd::start();
    let work = tempfile::Builder::new()
        .prefix("bp")
        .tempdir_in("/tmp")
        .unwrap();
    let root = work.path().join("p");
    let inventory = work.path().join("hosts.ini");
    let line = format!(
        "t1 ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={}",
        sshd.port(),
        sshd.user(),
        sshd.client_key().display(),
        sshd.known_hosts().display()
    );
    std::fs::write(&inventory, format!("{line}\n")).unwrap();
    let baton = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .env("BATON_CONTROL_DIR", &root)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let inv = inventory.to_str().unwrap();
    let (code, text) = baton(&["ping", "-i", inv, "--persist", "60"]);
    assert_eq!(code, Some(0), "{text}\n{}", sshd.log());
    assert_eq!(accepted_logins(&sshd), 1);

    std::fs::write(&inventory, format!("{line} baton_persist=60\n")).unwrap();
    let (code, text) = baton(&["ping", "-i", inv]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(accepted_logins(&sshd), 1, "the second run logged in again");

    let (code, text) = baton(&["connections"]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("alive: t1 (") && text.contains("127.0.0.1"),
        "{text}"
    );
    let (code, text) = baton(&["connections", "--close"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("closed: t1 ("), "{text}");
    let (_, text) = baton(&["connections"]);
    assert!(text.contains("no persisted connections"), "{text}");

    // Without persistence the master ends with the run, as before.
    std::fs::write(&inventory, format!("{line}\n")).unwrap();
    let (code, _) = baton(&["ping", "-i", inv]);
    assert_eq!(code, Some(0));
    assert_eq!(accepted_logins(&sshd), 2);
    let (_, text) = baton(&["connections"]);
    assert!(text.contains("no persisted connections"), "{text}");
}

//! `baton lab` end to end: real namespaces, real sshd, real ssh. Needs root;
//! without it each test prints a note and passes vacuously.
//!
//! Every test runs its own lab with its own prefix and subnet, so tests run in
//! parallel, and a guard runs `baton lab down` when the test ends, even by panic.
//! Traffic only ever goes to addresses inside the test's own lab subnet.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::lab::*;

fn netns_list() -> String {
    text(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
}

fn assert_nothing_left(lab: &Lab, pids: &[i64]) {
    for line in netns_list().lines() {
        assert!(
            !line.starts_with(&format!("{}-", lab.prefix)),
            "netns left: {line}"
        );
    }
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let dir = lab.dir().to_str().unwrap();
    for line in mounts.lines() {
        assert!(
            !line.contains(&lab.prefix) && !line.contains(dir),
            "mount left: {line}"
        );
    }
    for pid in pids {
        assert!(!running(*pid), "process {pid} still running");
    }
    let veth = Command::new("ip")
        .args(["link", "show", "dev", &format!("{}-h", lab.prefix)])
        .output()
        .unwrap();
    assert!(!veth.status.success(), "root veth left");
    let left: Vec<PathBuf> = std::fs::read_dir(lab.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "files left in the lab dir: {left:?}");
}

#[test]
fn nodes_are_separate_ssh_hosts() {
    require_root!();
    let started = Instant::now();
    let lab = Lab::running();
    let up_time = started.elapsed();
    assert!(up_time < Duration::from_secs(5), "up took {up_time:?}");

    for (node, host) in [("bc1", 11), ("bc2", 12)] {
        let out = lab.ssh(node, "hostname", 5);
        assert!(out.status.success(), "ssh {node}: {}", describe(&out));
        assert_eq!(text(&out.stdout).trim(), node);
        // The inventory's way in: address, key, known_hosts, strict checking.
        let out = Command::new("ssh")
            .arg("-i")
            .arg(lab.dir().join("id_ed25519"))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                lab.dir().join("known_hosts").display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .arg(format!("root@{}", lab.addr(host)))
            .arg("cat /proc/sys/kernel/hostname; pwd")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh root@{}: {}",
            lab.addr(host),
            describe(&out)
        );
        assert_eq!(text(&out.stdout), format!("{node}\n/root\n"));
    }

    // Files written on bc1 exist on bc1 only: not on bc2, not on the host.
    let probe = format!("probe-{}", lab.prefix);
    for d in ["/etc", "/opt", "/var/tmp", "/home", "/root", "/tmp", "/run"] {
        lab.sh("bc1", &format!("echo bc1 > {d}/{probe}"));
        assert_eq!(lab.sh("bc1", &format!("cat {d}/{probe}")), "bc1");
        assert_eq!(
            lab.sh(
                "bc2",
                &format!("test -e {d}/{probe} && echo visible || echo absent")
            ),
            "absent",
            "{d}/{probe} written on bc1 is visible on bc2"
        );
        assert!(
            !Path::new(d).join(&probe).exists(),
            "{d}/{probe} leaked to the host"
        );
    }
    // The rest of the host's tree is read-only inside a node.
    let out = lab.baton(&["shell", "bc1", "--", "touch", &format!("/srv/{probe}")]);
    assert!(
        !out.status.success(),
        "writing outside the overlays must fail"
    );
    // The lab directory (other nodes' disks, the client key) is hidden from nodes.
    let key = lab.dir().join("id_ed25519");
    assert!(key.exists());
    assert_eq!(
        lab.sh(
            "bc1",
            &format!("test -e {} && echo visible || echo hidden", key.display())
        ),
        "hidden"
    );

    // Own PID, UTS and mount namespaces: init is PID 1, different from bc2's and the host's.
    assert_eq!(
        lab.sh("bc1", "cat /proc/1/cmdline | tr '\\0' ' '")
            .split(' ')
            .nth(1),
        Some(lab.dir().join("nodes/bc1/init.sh").to_str().unwrap())
    );
    let ns = |node: &str, kind: &str| lab.sh(node, &format!("readlink /proc/self/ns/{kind}"));
    for kind in ["pid", "mnt", "uts", "ipc", "net"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        assert_ne!(
            ns("bc1", kind),
            ns("bc2", kind),
            "{kind} namespace shared by bc1 and bc2"
        );
        assert_ne!(
            ns("bc1", kind),
            host.to_str().unwrap(),
            "{kind} namespace shared with the host"
        );
    }
    let bc2_sshd = lab.state()["nodes"][1]["sshd"]["pid"].as_i64().unwrap();
    let bc1_pids = lab.sh("bc1", "ls /proc | grep -c '^[0-9]'");
    assert!(
        bc1_pids.parse::<u32>().unwrap() < 10,
        "bc1 sees {bc1_pids} processes"
    );
    assert!(running(bc2_sshd));

    // lab.yml is the inventory the runner reads.
    let inv = baton::yaml::parse_file(&lab.dir().join("lab.yml")).unwrap();
    let bc = inv
        .get("all")
        .unwrap()
        .get("children")
        .unwrap()
        .get("bc")
        .unwrap();
    let host = bc.get("hosts").unwrap().get("bc2").unwrap();
    assert_eq!(
        host.get("ansible_host").unwrap().scalar_text().unwrap(),
        lab.addr(12)
    );
    assert_eq!(host.get("bc_index").unwrap().scalar_text().unwrap(), "2");
    let vars = bc.get("vars").unwrap();
    assert_eq!(
        vars.get("vip_address").unwrap().scalar_text().unwrap(),
        lab.addr(254)
    );
    assert_eq!(
        vars.get("lab_client_netns").unwrap().scalar_text().unwrap(),
        format!("{}-client", lab.prefix)
    );
    eprintln!("up took {up_time:?}");
}

#[test]
fn a_vip_moves_and_the_client_follows() {
    require_root!();
    let lab = Lab::running();
    let vip = lab.addr(254);

    lab.sh(
        "bc1",
        &format!("ip addr add {vip}/24 dev eth0 label eth0:1"),
    );
    let status = lab.baton(&["status"]);
    assert!(status.status.success(), "{}", describe(&status));
    let bc1_row = text(&status.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("bc1 "))
        .unwrap()
        .to_string();
    assert!(
        bc1_row.contains(&format!("{vip}/24 (eth0:1)")),
        "status row: {bc1_row}"
    );
    lab.sh("client", &format!("ping -c1 -W1 {vip}"));

    let mac = |node: &str| lab.sh(node, "cat /sys/class/net/eth0/address");
    let (mac1, mac2) = (mac("bc1"), mac("bc2"));
    assert_ne!(mac1, mac2);
    let client_ns = format!("{}-client", lab.prefix);
    let neigh = || {
        let out = Command::new("ip")
            .args(["-n", &client_ns, "neigh", "show", &vip])
            .output()
            .unwrap();
        text(&out.stdout)
    };
    assert!(
        neigh().contains(&mac1),
        "client neighbour entry: {}",
        neigh()
    );

    lab.sh("bc1", &format!("ip addr del {vip}/24 dev eth0"));
    lab.sh(
        "bc2",
        &format!("ip addr add {vip}/24 dev eth0 label eth0:1"),
    );
    // arping exits 0 whether or not anyone listened; the peer's table is the proof.
    // Linux ignores a second ARP update within `locktime` (1 s), hence the retries.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        lab.sh("bc2", &format!("arping -U -c1 -I eth0 {vip}"));
        if neigh().contains(&mac2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "client still maps {vip} to {}",
            neigh()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    lab.sh("client", &format!("ping -c1 -W1 {vip}"));
    let status = text(&lab.baton(&["status"]).stdout);
    let bc2_row = status
        .lines()
        .find(|l| l.trim_start().starts_with("bc2 "))
        .unwrap();
    assert!(bc2_row.contains(&format!("{vip}/24 (eth0:1)")), "{status}");
}

#[test]
fn up_twice_changes_nothing_and_labs_do_not_collide() {
    require_root!();
    let lab = Lab::running();
    let state_before = std::fs::read(lab.dir().join("state.json")).unwrap();
    let inventory_before = std::fs::read(lab.dir().join("lab.yml")).unwrap();

    let again = lab.up();
    assert!(again.status.success(), "{}", describe(&again));
    assert!(
        text(&again.stdout).contains("already up and healthy"),
        "{}",
        describe(&again)
    );
    assert_eq!(
        std::fs::read(lab.dir().join("state.json")).unwrap(),
        state_before
    );
    assert_eq!(
        std::fs::read(lab.dir().join("lab.yml")).unwrap(),
        inventory_before
    );
    assert_eq!(lab.ssh("bc1", "hostname", 5).status.code(), Some(0));

    // Asking the same directory for another shape is refused, not silently ignored.
    let bigger = lab.baton(&["up", "--nodes", "3"]);
    assert_eq!(bigger.status.code(), Some(4), "{}", describe(&bigger));

    // Another lab may not take this lab's subnet or its prefix.
    let other = tempfile::tempdir().unwrap();
    let other_dir = other.path().to_str().unwrap();
    let out = Command::new(BATON)
        .args([
            "lab",
            "up",
            "--dir",
            other_dir,
            "--prefix",
            &format!("{}x", lab.prefix),
            "--subnet",
            &lab.subnet(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(text(&out.stderr).contains("collides"), "{}", describe(&out));
    let out = Command::new(BATON)
        .args([
            "lab",
            "up",
            "--dir",
            other_dir,
            "--prefix",
            &lab.prefix,
            "--subnet",
            "10.198.254.0/24",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        describe(&out)
    );
    assert!(
        std::fs::read_dir(other.path()).unwrap().next().is_none(),
        "a refused up leaves nothing behind"
    );
    assert_eq!(lab.baton(&["status"]).status.code(), Some(0));
}

#[test]
fn down_removes_everything_and_only_once() {
    require_root!();
    let lab = Lab::running();
    // A shell session inside a node and one in the client must not survive down either.
    let mut lingering = Command::new(BATON)
        .args([
            "lab",
            "shell",
            "bc1",
            "--dir",
            lab.dir().to_str().unwrap(),
            "--",
            "sleep",
            "300",
        ])
        .spawn()
        .unwrap();
    let mut lingering_client = Command::new(BATON)
        .args([
            "lab",
            "shell",
            "client",
            "--dir",
            lab.dir().to_str().unwrap(),
            "--",
            "sleep",
            "300",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pids = lab.recorded_pids();
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|p| running(*p)));

    let started = Instant::now();
    let out = lab.baton(&["down"]);
    let down_time = started.elapsed();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        down_time < Duration::from_secs(3),
        "down took {down_time:?}"
    );
    assert_nothing_left(&lab, &pids);
    // The shell sessions died with their namespaces.
    assert!(lingering.wait().unwrap().code() != Some(0));
    assert!(lingering_client.wait().unwrap().code() != Some(0));

    let again = lab.baton(&["down"]);
    assert!(again.status.success(), "{}", describe(&again));
    assert!(text(&again.stdout).contains("nothing to remove"));
    let status = lab.baton(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", describe(&status));
    eprintln!("down took {down_time:?}");
}

/// An sshd that fails on bc2 only, so `up` dies half-way with bc1 already running.
fn sshd_failing_on_bc2() -> tempfile::TempDir {
    // Under /var/tmp: nodes see the host's /var (their overlay's lower layer),
    // but not its /tmp, and the checkout itself may be under /tmp.
    let tmp = tempfile::Builder::new()
        .prefix("baton-fake-sshd-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let dir = tmp.path();
    let real = ["/usr/sbin/sshd", "/sbin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$(cat /proc/sys/kernel/hostname)\" = bc2 ]; then echo 'simulated sshd failure' >&2; exit 1; fi\nexec {real} \"$@\"\n"
    );
    let path = dir.join("sshd");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

#[test]
fn down_cleans_up_after_a_half_failed_up() {
    require_root!();
    let lab = Lab::new();
    let fake = sshd_failing_on_bc2();
    let path = format!(
        "{}:{}",
        fake.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = lab.baton_env(
        &["up", "--prefix", &lab.prefix, "--subnet", &lab.subnet()],
        &[("PATH", path.as_str())],
    );
    drop(fake);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("bc2") && err.contains("simulated sshd failure"),
        "{err}"
    );
    assert!(
        err.contains("half-up") && err.contains("baton lab down"),
        "{err}"
    );

    // Half a lab exists: namespaces, and bc1 running (bc2 failed before bc1's sshd
    // was necessarily recorded, so look at bc1's host-side anchor process).
    assert!(netns_list().contains(&format!("{}-bc1", lab.prefix)));
    let bc1_unshare = lab.state()["nodes"][0]["unshare"]["pid"].as_i64().unwrap();
    assert!(running(bc1_unshare));
    let status = lab.baton(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", describe(&status));
    let again = lab.up();
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    assert!(
        text(&again.stderr).contains("half-up"),
        "{}",
        describe(&again)
    );

    let pids = lab.recorded_pids();
    let down = lab.baton(&["down"]);
    assert!(down.status.success(), "{}", describe(&down));
    assert_nothing_left(&lab, &pids);
    assert!(!running(bc1_unshare));

    let again = lab.up();
    assert!(again.status.success(), "{}", describe(&again));
    assert_eq!(text(&lab.ssh("bc2", "hostname", 5).stdout).trim(), "bc2");
}

#[test]
fn link_down_cuts_a_node_off_and_link_up_restores_it() {
    require_root!();
    let lab = Lab::running();
    let out = lab.baton(&["link", "bc2", "down"]);
    assert!(out.status.success(), "{}", describe(&out));

    let started = Instant::now();
    let cut = lab.ssh("bc2", "true", 2);
    assert_eq!(
        cut.status.code(),
        Some(255),
        "ssh to a cut node: {}",
        describe(&cut)
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(
        lab.ssh("bc1", "hostname", 5).status.code(),
        Some(0),
        "bc1 is unaffected"
    );
    let status = lab.baton(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", describe(&status));
    assert!(
        text(&status.stdout).contains("bc2: eth0 is DOWN"),
        "{}",
        describe(&status)
    );

    assert!(lab.baton(&["link", "bc2", "up"]).status.success());
    // An ARP resolution begun while the cable was cut may still fail the first
    // connection ("No route to host"), as on a real network; it must recover.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut back = lab.ssh("bc2", "hostname", 5);
    while !back.status.success() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        back = lab.ssh("bc2", "hostname", 5);
    }
    assert!(back.status.success(), "{}", describe(&back));
    // The kernel may report the link state a moment after it carries traffic.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = lab.baton(&["status"]);
    while status.status.code() != Some(0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        status = lab.baton(&["status"]);
    }
    assert_eq!(status.status.code(), Some(0), "{}", describe(&status));
    assert_eq!(lab.baton(&["link", "bc9", "down"]).status.code(), Some(4));
}

#[test]
fn crash_kills_a_node_and_boot_brings_it_back_with_its_disk() {
    require_root!();
    let lab = Lab::running();
    let vip = lab.addr(254);
    lab.sh(
        "bc1",
        "echo kept > /opt/disk-probe; echo lost > /tmp/ram-probe",
    );
    lab.sh(
        "bc1",
        &format!("ip addr add {vip}/24 dev eth0 label eth0:1"),
    );
    let old = lab.state()["nodes"][0].clone();
    let old_pids: Vec<i64> = ["unshare", "init", "sshd"]
        .iter()
        .map(|p| old[p]["pid"].as_i64().unwrap())
        .collect();

    let out = lab.baton(&["crash", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    for pid in &old_pids {
        assert!(!running(*pid), "{pid} survived the crash");
    }
    let ping = lab.baton(&["shell", "client", "--", "ping", "-c1", "-W1", &vip]);
    assert_ne!(
        ping.status.code(),
        Some(0),
        "a crashed node's VIP must not answer"
    );
    let status = lab.baton(&["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert!(
        text(&status.stdout).contains("crashed"),
        "{}",
        describe(&status)
    );
    assert_eq!(
        lab.baton(&["shell", "bc1", "--", "true"]).status.code(),
        Some(1)
    );
    assert!(
        lab.ssh("bc2", "true", 5).status.success(),
        "bc2 is unaffected"
    );

    let out = lab.baton(&["boot", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    // Same host key (strict known_hosts still passes), same disk, fresh /tmp, no VIP.
    let out = lab.ssh("bc1", "cat /opt/disk-probe; test -e /tmp/ram-probe && echo tmp-kept || echo tmp-fresh; ip -4 -o addr show dev eth0 | wc -l", 5);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "kept\ntmp-fresh\n1\n");
    // The lab is healthy again. On a loaded machine the node's init may not
    // have finished exec-ing when `boot` returns (status compares process
    // names), so give it a few seconds, and show status's answer if not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let status = loop {
        let status = lab.baton(&["status"]);
        if status.status.code() == Some(0) || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(status.status.code(), Some(0), "{}", describe(&status));
    assert_eq!(
        lab.baton(&["boot", "bc1"]).status.code(),
        Some(4),
        "booting a running node is refused"
    );
}

#[test]
fn shell_passes_exit_codes_through() {
    require_root!();
    let lab = Lab::running();
    assert_eq!(
        lab.baton(&["shell", "bc1", "--", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
    assert_eq!(
        lab.baton(&["shell", "client", "--", "sh", "-c", "exit 9"])
            .status
            .code(),
        Some(9)
    );
    assert_eq!(
        lab.sh("bc2", "cat /proc/sys/kernel/hostname; pwd"),
        "bc2\n/root"
    );
    // A node-internal PID can be killed from outside, as the failover scenario does.
    let pid = lab.sh("bc1", "sleep 300 >/dev/null 2>&1 & echo $!");
    lab.sh("bc1", &format!("kill -0 {pid}"));
    assert_eq!(
        lab.baton(&["shell", "bc1", "--", "kill", "-9", &pid])
            .status
            .code(),
        Some(0)
    );
    let gone = lab.baton(&[
        "shell",
        "bc1",
        "--",
        "sh",
        "-c",
        &format!("sleep 0.2; kill -0 {pid}"),
    ]);
    assert_ne!(gone.status.code(), Some(0));
    let unknown = lab.baton(&["shell", "bc7", "--", "true"]);
    assert_eq!(unknown.status.code(), Some(4));
    assert!(text(&unknown.stderr).contains("bc1, bc2, client"));
}

#[test]
fn preconditions_fail_in_one_line_with_exit_4() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    let out = Command::new(BATON)
        .args(["lab", "up", "--dir", d])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("ip (package iproute2)") && err.contains("util-linux"),
        "{err}"
    );

    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BATON,
            "lab",
            "status",
            "--dir",
            d,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs root"), "{err}");

    for bad in [
        ["--subnet", "8.8.8.0/24"],
        ["--subnet", "10.199.0.0/26"],
        ["--prefix", "Bad_Name"],
        ["--nodes", "0"],
    ] {
        let out = Command::new(BATON)
            .args(["lab", "up", "--dir", d])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{bad:?}: {}", describe(&out));
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "refused ups leave nothing"
    );
}

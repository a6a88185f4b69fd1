//! The HVR failover playbooks end to end in a lab of two BC nodes running the
//! HVR simulator, with a client writing through the VIP: the whole life of a
//! BC pair (install, switchover and back, abrupt failover, recovery), start
//! refusals, and a stop whose flush times out. Needs root (CI has it); each
//! test owns its lab, torn down even when the test fails.

mod support;

use std::time::Duration;

use support::hvr::{Hvr, Run, Summary, HVRENV};
use support::lab::*;

const FILES: &str = "/opt/hvr/hvr_config/files";

fn assert_refused(run: &Run, why: &str) {
    assert_eq!(
        run.code(),
        Some(2),
        "{} should have been refused: {}",
        run.name,
        run.dump()
    );
    assert_eq!(
        run.changed(),
        0,
        "a refused {} changed: {:?}",
        run.name,
        run.changes()
    );
    assert!(
        run.messages().contains(why),
        "{} refused without saying `{why}`:\n{}",
        run.name,
        run.messages()
    );
}

fn message_containing(run: &Run, needle: &str) -> String {
    run.messages()
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "{}: no message contains `{needle}`:\n{}",
                run.name,
                run.messages()
            )
        })
        .to_string()
}

/// Installs, defines the VIP and configures boot on both nodes (each twice:
/// the second run changes nothing), then starts bc1.
fn bring_up(h: &Hvr) {
    let install = h.ok("install", &[]);
    assert!(install.changed() > 0);
    h.again_unchanged("install", &[]);
    h.ok("vip", &[]);
    h.again_unchanged("vip", &[]);
    h.ok("boot-config", &[]);
    h.again_unchanged("boot-config", &[]);
    h.ok("start", &["node=bc1"]);
    h.again_unchanged("start", &["node=bc1"]);
}

#[test]
fn the_whole_life_of_a_bc_pair() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    let vip = h.vip();

    // 0. install --check on fresh nodes predicts the unpack instead of
    // failing on the HVR_HOME it has not created yet.
    let dry = h.run_args("install", &[], &["--check"]);
    assert_eq!(dry.code(), Some(0), "{}", dry.dump());
    assert!(
        dry.changes()
            .iter()
            .any(|c| c.contains("HVR_HOME does not exist yet")),
        "{}",
        dry.dump()
    );
    assert!(h.file("bc1", "/opt/hvr/hvr_home/bin/hvrsim").is_none());

    // 1. install -> vip -> boot-config -> start on bc1.
    bring_up(&h);
    let opt1 = h.file("bc1", &format!("{FILES}/hvrfailover.opt")).unwrap();
    assert_eq!(
        Some(opt1.clone()),
        h.file("bc2", &format!("{FILES}/hvrfailover.opt")),
        "hvrfailover.opt must be identical"
    );
    assert!(
        opt1.contains("-hubdb=hvrhub") && opt1.contains(&format!("-virtual_ip={vip}")),
        "{opt1}"
    );
    for node in ["bc1", "bc2"] {
        let vipdef = h.file(node, "/etc/hvrfailover/vip-eth0:1.ip").unwrap();
        assert!(
            vipdef.contains(&format!("address add {vip}/24 dev eth0 label eth0:1")),
            "{vipdef}"
        );
        let hvrtab = h.file(node, "/etc/hvrtab").unwrap();
        assert_eq!(
            hvrtab
                .lines()
                .filter(|l| l.split_whitespace().nth(1) == Some("4343"))
                .count(),
            1,
            "{hvrtab}"
        );
        assert_eq!(
            hvrtab
                .lines()
                .filter(|l| l.split_whitespace().nth(1) == Some("hvrfailover"))
                .count(),
            1,
            "{hvrtab}"
        );
        let cron = h.sh(node, "crontab -l -u hvr");
        assert_eq!(
            cron.matches("hvrmaint /opt/hvr/hvr_config/files/hvrmaint.opt")
                .count(),
            1,
            "{cron}"
        );
        assert_eq!(
            cron.matches("hvrlogrelease /opt/hvr/hvr_config/files/hvrlogrelease.opt")
                .count(),
            1,
            "{cron}"
        );
        let rc_local = h.file(node, "/etc/rc.local").unwrap();
        let dbms = rc_local
            .find("hvrenv ingstart")
            .expect("rc.local starts the DBMS");
        let hvrtab_boot = rc_local
            .find("hvr_boot start")
            .expect("rc.local processes hvrtab");
        assert!(
            dbms < hvrtab_boot,
            "the DBMS must start before hvrtab: {rc_local}"
        );
    }
    assert_eq!(h.state("bc1").as_deref(), Some("START"));
    assert_eq!(h.state("bc2").as_deref(), Some("STOP"));
    for node in ["bc1", "bc2"] {
        the_install_is_the_hvr_users(&h, node, node == "bc1");
    }
    // Root-owned files of an older install (or another hvr_user) are made
    // hvr's by install, and a lock guard hvr cannot open is reported as
    // what it is, not as a lock another run holds.
    h.sh(
        "bc2",
        &format!("chown root:root {FILES}/hvrfailover.lock.guard {FILES}/hvrfailover.state /opt/hvr/hvr_home/bin/hvrsim && chmod 644 {FILES}/hvrfailover.lock.guard"),
    );
    let refused = h.run("stop", &["node=bc2"]);
    assert_ne!(refused.code(), Some(0), "{}", refused.dump());
    assert!(
        refused
            .messages()
            .contains("the lock could not be checked on bc2")
            && refused.messages().contains("Permission denied")
            && !refused.messages().contains("another baton operation holds"),
        "{}",
        refused.dump()
    );
    let fixed = h.ok("install", &[]);
    assert!(
        fixed
            .changes()
            .iter()
            .any(|c| c.contains("is the HVR user's")),
        "{}",
        fixed.dump()
    );
    h.again_unchanged("install", &[]);
    the_install_is_the_hvr_users(&h, "bc2", false);
    // hvr_user=root (the old behaviour): root's account is never touched
    // (no usermod of root: its home and shell stay), and boot-config leaves
    // no sudo rule for it. Check mode: predicted, nothing changed.
    let as_root = h.run_args("install", &["hvr_user=root"], &["--check"]);
    assert_eq!(as_root.code(), Some(0), "{}", as_root.dump());
    for task in [
        "Install | the HVR group (hvr_user_group)",
        "Install | the HVR user (hvr_user), owner of HVR_HOME and HVR_CONFIG, created",
        "Install | the HVR user (hvr_user), an existing account, in hvr_user_group",
    ] {
        assert_eq!(
            as_root.outcome(task, "bc1"),
            "skipped",
            "{task}: {}",
            as_root.dump()
        );
    }
    assert!(
        as_root.changes().contains(
            &"bc1: Install | everything under HVR_HOME and HVR_CONFIG is the HVR user's"
                .to_string()
        ),
        "{}",
        as_root.dump()
    );
    let boot_root = h.run_args("boot-config", &["hvr_user=root"], &["--check"]);
    assert_eq!(boot_root.code(), Some(0), "{}", boot_root.dump());
    assert!(
        boot_root
            .changes()
            .contains(&"bc1: Boot | no sudo rule when the DBMS owner is root".to_string()),
        "{}",
        boot_root.dump()
    );
    // An existing account is not reshaped: only its primary group is set.
    let existing = h.run_args("install", &["hvr_user=nobody"], &["--check"]);
    assert_eq!(
        existing.outcome(
            "Install | the HVR user (hvr_user), owner of HVR_HOME and HVR_CONFIG, created",
            "bc1"
        ),
        "skipped",
        "{}",
        existing.dump()
    );
    // A DBMS owner other than the HVR user is refused, naming both vars.
    for playbook in ["install", "boot-config"] {
        let other = h.run(playbook, &["hvr_dbms_owner=ingres"]);
        assert_ne!(other.code(), Some(0), "{}", other.dump());
        assert!(
            other
                .messages()
                .contains("hvr_dbms_owner=ingres differs from hvr_user=hvr: not supported"),
            "{}",
            other.dump()
        );
        assert_eq!(other.changed(), 0, "{}", other.dump());
    }
    assert!(h.file("bc1", "/etc/sudoers.d/baton-hvrfailover").is_some());
    assert!(h.holds_vip("bc1") && !h.holds_vip("bc2"));
    assert!(h.scheduler_answers("bc1") && !h.scheduler_answers("bc2"));
    assert!(h.vip_answers_from_client());
    assert!(
        h.log("bc1").contains("start: state START written"),
        "{}",
        h.log("bc1")
    );
    h.again_unchanged("check", &[]);

    // 2.-3. A client writes through the VIP; switchover bc1 -> bc2 loses no row.
    let writer = h.writer("s1");
    let switch = h.ok("switchover", &["from=bc1", "to=bc2"]);
    writer.wait_progress(10, Duration::from_secs(10));
    let summary = writer.finish();
    assert_eq!(
        summary.get("servers"),
        "bc1,bc2",
        "the client moved to bc2: {summary:?}"
    );
    assert_eq!(
        switch.outcome("Switchover | verdict of hvrcompare", "bc1"),
        "ok"
    );
    assert!(message_containing(&switch, "switchover bc1 -> bc2 done").contains(&h.mac("bc2")));
    // The stop's flush is proven end to end: the canary row bc1 wrote after
    // its VIP went down arrived on bc2 before bc1's scheduler was stopped.
    let flushed = message_containing(&switch, "one capture and one integrate cycle");
    let canary = flushed
        .split("canary simtable.baton_canary = ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no canary in the flush: {flushed}"))
        .to_string();
    assert!(
        flushed.contains(&format!("{canary} arrived on {}", lab.addr(12))),
        "{flushed}"
    );
    let (code, on_bc2) = h.client(&[
        "get",
        "baton_canary",
        "--table",
        "simtable",
        "--host",
        &lab.addr(12),
    ]);
    assert_eq!((code, on_bc2.as_str()), (Some(0), canary.as_str()));
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.stop_done"))
        .unwrap()
        .contains("graceful stop"));
    assert_eq!(h.state("bc2").as_deref(), Some("START"));
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));
    assert!(
        h.client_neighbour().contains(&h.mac("bc2")),
        "{}",
        h.client_neighbour()
    );
    h.identical_within("bc2", "db2", "db1", Duration::from_secs(10))
        .unwrap();
    let (code, verified) = verify(&h, &summary);
    assert_eq!(
        code,
        Some(0),
        "acknowledged rows lost in a graceful switchover: {verified}"
    );
    assert!(verified.contains("missing=0"), "{verified}");
    let again = h.again_unchanged("switchover", &["from=bc1", "to=bc2"]);
    assert!(
        again.messages().contains("nothing to do"),
        "{}",
        again.messages()
    );
    let graceful_secs =
        switch.task_end("Post-check | verdict on the VIP answering") - switch.first_task_start();
    eprintln!("graceful switchover bc1 -> bc2: {graceful_secs:.2} s from the first task to the VIP answering on bc2; client max gap {} ms", summary.get("max_gap_ms"));

    // 4. Switch back.
    let writer = h.writer("s2");
    h.ok("switchover", &["from=bc2", "to=bc1"]);
    writer.wait_progress(10, Duration::from_secs(10));
    let summary = writer.finish();
    assert_eq!(summary.get("servers"), "bc2,bc1", "{summary:?}");
    assert!(h.holds_vip("bc1") && !h.holds_vip("bc2"));
    h.identical_within("bc1", "db1", "db2", Duration::from_secs(10))
        .unwrap();
    let (code, verified) = verify(&h, &summary);
    assert_eq!(code, Some(0), "{verified}");

    // 5. Abrupt: bc1's scheduler is killed, then its link goes down, while the client writes.
    let writer = h.writer("ab");
    writer.wait_acked(30, Duration::from_secs(10));
    h.sh(
        "bc1",
        &format!("kill -9 $(cat {FILES}/hvrscheduler_hvrhub.pid)"),
    );
    writer.wait_progress(10, Duration::from_secs(10));
    let out = lab.baton(&["link", "bc1", "down"]);
    assert!(out.status.success(), "{}", describe(&out));

    // 6. Failover to bc2, fencing bc1 (a power-off: the lab's crash).
    let fence = serde_json::json!({"hvr_fence_command": format!("{BATON} lab crash \"$HVR_FENCE_NODE\" --dir {}", lab.dir().display())}).to_string();
    let failover = h.ok("failover", &["to=bc2", &fence]);
    let phantom = message_containing(&failover, "phantom changes");
    assert!(
        phantom.contains("bc1 was not stopped gracefully"),
        "{phantom}"
    );
    writer.wait_progress(10, Duration::from_secs(15));
    let summary = writer.finish();
    assert_eq!(
        summary.get("servers"),
        "bc1,bc2",
        "the client reconnected to bc2: {summary:?}"
    );
    let taint = h
        .file("bc2", &format!("{FILES}/hvrfailover.peer_tainted"))
        .unwrap();
    assert!(taint.starts_with("peer=bc1 "), "{taint}");
    // The taint is also kept on the controller, beside the inventory; the
    // output names the file.
    let state_file = lab.dir().join("hvrfailover-taint.state");
    let places = message_containing(&failover, "recorded in three places");
    assert!(
        places.contains(&state_file.display().to_string()),
        "{places}"
    );
    let recorded = std::fs::read_to_string(&state_file).unwrap();
    assert!(
        recorded.starts_with("node=bc1 survivor=bc2 since="),
        "{recorded}"
    );
    assert_eq!(h.state("bc2").as_deref(), Some("START"));
    assert!(h.holds_vip("bc2"));
    assert!(h.client_neighbour().contains(&h.mac("bc2")));
    let (code, verified) = verify(&h, &summary);
    assert_eq!(
        code,
        Some(1),
        "rows committed on bc1 after its scheduler died cannot be on bc2: {verified}"
    );
    let lost: u64 = verified
        .split_whitespace()
        .find_map(|w| w.strip_prefix("missing="))
        .unwrap()
        .parse()
        .unwrap();
    let lost_keys: Vec<String> = verified
        .lines()
        .filter_map(|l| l.trim().strip_prefix("missing: "))
        .map(str::to_string)
        .collect();
    assert!(lost >= 1 && !lost_keys.is_empty(), "{verified}");
    eprintln!(
        "abrupt failover: {lost} acknowledged row(s) lost (RPO); client max gap {} ms",
        summary.get("max_gap_ms")
    );
    let again = h.again_unchanged("failover", &["to=bc2"]);
    assert!(
        again.messages().contains("nothing to do"),
        "{}",
        again.messages()
    );

    // 7. bc1 comes back: its boot script refuses the VIP, and switchover to it is refused.
    let out = lab.baton(&["boot", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    let refusal = wait_for_log(&h, "bc1", "boot: state is START but NOT starting");
    assert!(
        refusal.contains(&format!("the VIP {vip} answers ping")),
        "{refusal}"
    );
    assert!(!h.holds_vip("bc1") && !h.scheduler_answers("bc1"));
    assert_eq!(
        h.hvr("bc1", "hvrtestlistener -t1 127.0.0.1 4343").0,
        Some(0),
        "hvrtab started the listener"
    );
    for key in &lost_keys {
        let (code, _) = h.client(&["get", key, "--host", &lab.addr(11)]);
        assert_eq!(code, Some(0), "phantom row {key} should exist on bc1");
    }
    // The first playbook that reaches bc1 records the taint on bc1 itself.
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.self_tainted"))
        .is_none());
    let check = h.run("check", &[]);
    assert_eq!(
        check.code(),
        Some(2),
        "check must want action: {}",
        check.dump()
    );
    assert!(
        check.messages().contains("bc2 records bc1 as tainted")
            && check
                .messages()
                .contains("bc1 carries a taint about itself"),
        "{}",
        check.messages()
    );
    assert_eq!(
        check.changes(),
        ["bc1: Taint | recorded on the tainted node itself"]
    );
    let own = h
        .file("bc1", &format!("{FILES}/hvrfailover.self_tainted"))
        .unwrap();
    assert!(own.starts_with("node=bc1 survivor=bc2 since="), "{own}");
    let refused = h.run("switchover", &["from=bc2", "to=bc1"]);
    assert_refused(&refused, "bc1 is tainted");
    assert!(
        refused.messages().contains("baton run recover -e node=bc1"),
        "{}",
        refused.messages()
    );
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));

    // 8. Recover bc1: refreshed from bc2, identical, no longer tainted.
    let recover = h.ok("recover", &["node=bc1"]);
    let report = message_containing(&recover, "never replicated");
    let phantom_rows: u64 = report
        .split("only in db1: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of rows only in db1: {report}"));
    assert!(
        phantom_rows >= lost,
        "every acknowledged row lost is a phantom row on bc1 ({lost} lost, {phantom_rows} phantom): {report}"
    );
    assert!(message_containing(&recover, "bc1 recovered").contains("identical"));
    assert!(
        h.file("bc2", &format!("{FILES}/hvrfailover.peer_tainted"))
            .is_none()
            && h.file("bc1", &format!("{FILES}/hvrfailover.self_tainted"))
                .is_none()
            && !std::fs::read_to_string(&state_file)
                .unwrap_or_default()
                .contains("node=bc1 "),
        "taint cleared in all three places"
    );
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.stop_done"))
        .unwrap()
        .contains("recovered"));
    h.identical_within("bc2", "db2", "db1", Duration::from_secs(5))
        .unwrap();
    for key in &lost_keys {
        let (code, _) = h.client(&["get", key, "--host", &lab.addr(11)]);
        assert_eq!(
            code,
            Some(1),
            "phantom row {key} must be gone from bc1 after the refresh"
        );
    }
    h.again_unchanged("recover", &["node=bc1"]);

    // 9. Switchover back to bc1 succeeds; everything is green.
    let writer = h.writer("s3");
    h.ok("switchover", &["from=bc2", "to=bc1"]);
    writer.wait_progress(10, Duration::from_secs(10));
    let summary = writer.finish();
    assert_eq!(summary.get("servers"), "bc2,bc1", "{summary:?}");
    assert!(h.holds_vip("bc1") && !h.holds_vip("bc2"));
    h.identical_within("bc1", "db1", "db2", Duration::from_secs(10))
        .unwrap();
    let (code, verified) = verify(&h, &summary);
    assert_eq!(code, Some(0), "{verified}");
    h.again_unchanged("check", &[]);
}

/// switchover, failover, recover, start and stop take a lock on the nodes:
/// a second run is refused naming the first; a stale lock names the command
/// that clears it; a lock left by a run of this controller that is gone is
/// taken over. Leaves bc1 active and no lock behind.
/// Issue 12: HVR_HOME and HVR_CONFIG are hvr:hvr, baton's helpers root's;
/// HVR runs as hvr except the remote listener (hvrtab's root line); hvrtab
/// runs hvrfailover as the DBMS owner, and sudo allows that user the boot's
/// VIP add with the inventory's arguments and nothing else.
fn the_install_is_the_hvr_users(h: &Hvr, node: &str, active: bool) {
    let owners = h.sh(
        node,
        "stat -c '%U:%G %n' /opt/hvr/hvr_home /opt/hvr/hvr_home/bin/hvrsim /opt/hvr/hvr_config \
         /opt/hvr/hvr_config/files /opt/hvr/hvr_config/files/hvrfailover.state \
         /opt/hvr/hvr_config/log/hvrfailover/hvrfailover.log /opt/hvr/hvr_config/simdb \
         /opt/hvr/hvr_config/router",
    );
    assert_eq!(owners.lines().count(), 8, "{owners}");
    for line in owners.lines() {
        assert!(line.starts_with("hvr:hvr "), "{node}: not hvr's: {line}");
    }
    let root = h.sh(
        node,
        "stat -c '%U:%G %a %n' /opt/hvr/bin /opt/hvr/bin/hvrenv /opt/hvr/bin/hvrfailover-act \
         /opt/hvr/bin/hvrfailover-vip /etc/sudoers.d/baton-hvrfailover",
    );
    assert_eq!(root.lines().count(), 5, "{root}");
    for line in root.lines() {
        assert!(line.starts_with("root:root "), "{node}: not root's: {line}");
    }
    assert!(
        root.contains("440 /etc/sudoers.d/baton-hvrfailover"),
        "{root}"
    );
    let (code, said) = h.sh_code(node, "visudo -cf /etc/sudoers.d/baton-hvrfailover");
    assert_eq!(code, Some(0), "{said}");
    // Who runs what: the DBMS and the scheduler as hvr, the listener as root.
    let procs = h.sh(node, "ps -eo user=,args= | grep -- --daemon-chil[d]");
    let user_of = |daemon: &str| {
        procs
            .lines()
            .find(|l| l.contains(daemon))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
    };
    assert_eq!(user_of("ingstart").as_deref(), Some("hvr"), "{procs}");
    assert_eq!(
        user_of("hvrremotelistener").as_deref(),
        Some("root"),
        "{procs}"
    );
    if active {
        assert_eq!(user_of("hvrscheduler").as_deref(), Some("hvr"), "{procs}");
    }
    let hvrtab = h.file(node, "/etc/hvrtab").unwrap();
    assert!(
        hvrtab
            .lines()
            .any(|l| l.starts_with("root 4343 /opt/hvr/hvr_home /opt/hvr/hvr_config ")),
        "{hvrtab}"
    );
    assert!(
        hvrtab
            .lines()
            .any(|l| l.starts_with("hvr hvrfailover /opt/hvr/hvr_home /opt/hvr/hvr_config ")),
        "{hvrtab}"
    );
    // sudo -l -U: exit 0 only for a command the rule allows.
    let vip = h.vip();
    let allowed = |cmd: &str| h.sh_code(node, &format!("sudo -n -l -U hvr {cmd}")).0 == Some(0);
    let helper = "/opt/hvr/bin/hvrfailover-vip";
    let add = format!("{helper} boot vip-add {vip} 24 eth0 eth0:1 5 0.2 5 0.2");
    assert!(allowed(&add), "{node}: sudo refuses {add}");
    assert!(allowed(&format!("{add} preflight-dad-done")));
    for refused in [
        "/bin/sh".to_string(),
        "/usr/sbin/ip addr add 10.85.0.200/24 dev eth0".to_string(),
        format!("{helper} boot vip-del {vip} 24 eth0"),
        format!("{helper} boot vip-add 10.0.0.1 24 eth0 eth0:1 5 0.2 5 0.2"),
        format!("{add} extra"),
        "/opt/hvr/bin/hvrenv hvrfailover-act boot vip-add".to_string(),
    ] {
        assert!(!allowed(&refused), "{node}: sudo allows hvr {refused}");
    }
    // Run as hvr, a VIP action the rule does not allow is refused, quoting why.
    let (code, said) = h.sh_code(
        node,
        &format!(
            "su -s /bin/sh hvr -c '/opt/hvr/bin/hvrenv hvrfailover-act test vip-del {vip} 24 eth0'"
        ),
    );
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.starts_with("FAILED: vip-del needs root and sudo -n does not allow hvr"),
        "{said}"
    );
    // What runs as root never runs what hvr can write: tools planted in
    // $HVR_HOME/bin (hvr's) under the names of the system tools the status
    // probes call are never run by root; the HVR commands (and the catalog
    // check's `sh -c`) the status calls run as hvr, with hvr's PATH: the
    // planted `sh` records hvr's uid, so the plant itself is proven to work.
    let planted = "/tmp/batonf12-planted";
    h.sh(node, &format!("rm -f {planted}"));
    for tool in ["ip", "ss", "ps", "ping", "date", "timeout", "perl", "sh"] {
        let plant = format!("/opt/hvr/hvr_home/bin/{tool}");
        h.sh(
            node,
            &format!(
                "real=$(command -v {tool}) && printf '#!/bin/sh\\nid -u >> {planted}\\nexec %s \"$@\"\\n' \"$real\" > {plant} \
                 && chown hvr:hvr {plant} && chmod 755 {plant}"
            ),
        );
    }
    let (code, said) = h.sh_code(
        node,
        &format!(
            "/opt/hvr/bin/hvrenv hvrfailover-status hvrhub orders {vip} eth0 4343 /etc/hvrfailover/vip-eth0:1.ip 'hvrsim catalog check hvrhub' 4341 2>&1"
        ),
    );
    let ran = h.file(node, planted).unwrap_or_default();
    h.sh(
        node,
        &format!(
            "rm -f {planted}; cd /opt/hvr/hvr_home/bin && rm -f ip ss ps ping date timeout perl sh"
        ),
    );
    assert_eq!(code, Some(0), "{node}: status as root: {said}");
    assert!(!said.contains("UNKNOWN"), "{node}: {said}");
    assert!(
        ran.lines().all(|uid| uid.trim() != "0"),
        "{node}: root ran a tool hvr planted in $HVR_HOME/bin: {ran}"
    );
    assert!(
        !ran.trim().is_empty(),
        "{node}: the planted tools never ran, not even as hvr (the catalog check's sh)"
    );
}

fn one_operation_at_a_time(lab: &Lab, h: &Hvr) {
    let lock = format!("{FILES}/hvrfailover.lock");
    // Two real runs at once: the second is refused and names the first's PID.
    let inventory = lab.dir().join("lab.yml");
    let mut first = std::process::Command::new(BATON)
        .args(["run", "playbooks/start.yml", "-i"])
        .arg(&inventory)
        // A longer duplicate-address detection keeps it holding the lock
        // for a few seconds.
        .args([
            "-e",
            "node=bc1",
            "-e",
            "hvr_arp_dad_wait=3",
            "--output",
            "json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h.file("bc2", &lock).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first start never locked bc2"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = h.run("stop", &["node=bc1"]);
    let first_pid = first.id();
    assert!(first.wait().unwrap().success(), "the first start failed");
    assert_refused(
        &second,
        "stop refused: another baton operation holds the lock",
    );
    assert!(
        second.messages().contains(&format!(
            "held: start node=bc1 by controller {} (pid {first_pid})",
            hostname()
        )),
        "{}",
        second.messages()
    );
    assert!(h.state("bc1").as_deref() == Some("START") && h.holds_vip("bc1"));

    // The first run released both; the refused one never held any.
    assert!(h.file("bc1", &lock).is_none() && h.file("bc2", &lock).is_none());

    // Another controller's lock: refused, naming it.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 5;
    h.sh(
        "bc2",
        &format!("echo 'operation=recover controller=ctl-far pid=4242 proc=x:1 since=now epoch={since} what=node=bc2' > {lock}"),
    );
    let refused = h.run("start", &["node=bc1"]);
    assert_refused(
        &refused,
        "bc2: held: recover node=bc2 by controller ctl-far (pid 4242)",
    );
    assert!(
        !refused.messages().contains("STALE"),
        "{}",
        refused.messages()
    );
    // The same lock, older than hvr_lock_stale_after: stale, with the command.
    let refused = h.run("start", &["node=bc1", "hvr_lock_stale_after=0"]);
    let unlock = format!(
        "baton run unlock -i {} -e node=bc2 -e lock_pid=4242",
        inventory.display()
    );
    assert_refused(&refused, &unlock);
    assert!(
        refused.messages().contains("STALE"),
        "{}",
        refused.messages()
    );
    let cleared = h.ok("unlock", &["node=bc2", "lock_pid=4242"]);
    assert_eq!(cleared.changed(), 1);
    assert!(h.file("bc2", &lock).is_none());
    assert!(h.log("bc2").contains(
        "lock: cleared (baton run unlock): operation=recover controller=ctl-far pid=4242"
    ));

    // A lock left by a run of this controller that no longer runs: taken over.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    h.sh(
        "bc1",
        &format!(
            "echo 'operation=switchover controller={} pid=999999 proc={}:1 since=then epoch=1 what=from=bc1 to=bc2' > {lock}",
            hostname(),
            boot.trim()
        ),
    );
    let again = h.again_unchanged("start", &["node=bc1"]);
    assert!(
        again
            .messages()
            .contains("bc1: taken over: operation=start")
            && again
                .messages()
                .contains("process 999999 (started at tick 1) no longer runs"),
        "{}",
        again.messages()
    );
    assert!(
        h.log("bc1").contains("lock: taken over by start"),
        "{}",
        h.log("bc1")
    );
    assert!(h.file("bc1", &lock).is_none() && h.file("bc2", &lock).is_none());
}

fn hostname() -> String {
    text(
        &std::process::Command::new("hostname")
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string()
}

/// `hvrsimclient verify` of a finished writer: (exit code, output).
fn verify(h: &Hvr, summary: &Summary) -> (Option<i32>, String) {
    h.client(&["verify", "--host", &h.vip(), "--acked-log", &summary.acked])
}

fn wait_for_log(h: &Hvr, node: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(line) = h.log(node).lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{node}'s log never said `{needle}`:\n{}",
            h.log(node)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn start_is_refused_while_the_other_node_serves_and_changes_nothing() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    bring_up(&h);
    one_operation_at_a_time(&lab, &h);

    // A dry run of the switchover passes its pre-flight and changes nothing.
    let dry = h.run_args("switchover", &["from=bc1", "to=bc2"], &["--check"]);
    assert_eq!(dry.code(), Some(0), "{}", dry.dump());
    assert_eq!(dry.changed(), 0, "{:?}", dry.changes());
    assert!(
        dry.messages()
            .contains("check mode: the switchover pre-flight passed"),
        "{}",
        dry.messages()
    );
    assert!(h.holds_vip("bc1") && h.scheduler_answers("bc1") && !h.holds_vip("bc2"));

    let log_before = h.log("bc2");

    // bc1 holds the VIP: the VIP answers.
    let refused = h.run("start", &["node=bc2"]);
    assert_refused(&refused, &format!("the VIP {} answers ping", h.vip()));
    assert_eq!(
        refused.outcome(
            "Start | start the scheduler (replication to the other node)",
            "bc2"
        ),
        "none"
    );

    // Only bc1's scheduler runs (its VIP is stopped with -t vip): the scheduler answers.
    let vip_only = h.run_args("stop", &["node=bc1"], &["-t", "vip"]);
    assert_eq!(vip_only.code(), Some(0), "{}", vip_only.dump());
    assert!(!h.holds_vip("bc1") && h.scheduler_answers("bc1"));
    let refused = h.run("start", &["node=bc2"]);
    assert_refused(&refused, "the other hub's scheduler answers at");

    // Nothing changed on bc2.
    assert_eq!(h.state("bc2").as_deref(), Some("STOP"));
    assert!(!h.holds_vip("bc2") && !h.scheduler_answers("bc2"));
    assert_eq!(
        h.log("bc2"),
        log_before,
        "a refused start must not even log an action"
    );

    // A probe that cannot tell refuses too: ping exiting 2 (an error, not
    // "no reply") is unknown, quoted, and nothing on bc2 changes.
    let node_files = "find /opt/hvr/hvr_config /etc/hvrtab /etc/rc.local /etc/hvrfailover -type f | sort | xargs sha256sum; crontab -l; ip -4 -o addr show dev eth0";
    let before = h.sh("bc2", node_files);
    h.sh(
        "bc2",
        "printf '#!/bin/sh\necho \"ping: sendmsg: Operation not permitted\" >&2\nexit 2\n' > /opt/hvr/bin/ping && chmod +x /opt/hvr/bin/ping",
    );
    let refused = h.run("start", &["node=bc2"]);
    h.sh("bc2", "rm -f /opt/hvr/bin/ping");
    assert_refused(&refused, "UNKNOWN: ping cannot tell whether");
    assert!(
        refused
            .messages()
            .contains("exited 2: ping: sendmsg: Operation not permitted"),
        "{}",
        refused.messages()
    );
    assert_eq!(
        h.sh("bc2", node_files),
        before,
        "a refused start changed bc2"
    );

    h.ok("start", &["node=bc1"]);
    // The active node's scheduler died (the fault matrix's from-scheduler
    // at its first boundary): nothing it captured can be flushed, so the
    // switchover refuses, and names the step that mends it, not just
    // `check`. Followed, the switchover passes its pre-flight.
    h.sh(
        "bc1",
        &format!("kill -9 $(cat {FILES}/hvrscheduler_hvrhub.pid)"),
    );
    let refused = h.run("switchover", &["from=bc1", "to=bc2"]);
    assert_refused(
        &refused,
        "bc1 serves the VIP but its scheduler is not running (it died, or was stopped outside baton), so what it captured since cannot be flushed to bc2: start its scheduler again with `baton run start -e node=bc1` (it keeps the VIP), then run this switchover again",
    );
    assert!(h.holds_vip("bc1") && !h.scheduler_answers("bc1"));
    no_lock_left(&h, "a switchover refused on both nodes");
    h.ok("start", &["node=bc1"]);
    assert!(h.holds_vip("bc1") && h.scheduler_answers("bc1") && !h.holds_vip("bc2"));
    let dry = h.run_args("switchover", &["from=bc1", "to=bc2"], &["--check"]);
    assert_eq!(dry.code(), Some(0), "{}", dry.dump());

    // A refused failover (one node's play, its tasks in a block whose
    // rescue gives the lock back) leaves no lock: another controller could
    // act at once.
    let refused = h.run("failover", &["to=bc1"]);
    assert_refused(&refused, "failover refused: bc1 is already active");
    let refused = h.run("failover", &["to=bc2"]);
    assert_refused(&refused, "the VIP");
    no_lock_left(&h, "a refused failover");
    assert!(h.holds_vip("bc1") && h.scheduler_answers("bc1") && !h.holds_vip("bc2"));
    // A row written directly on the standby's database: check names it, and
    // a switchover to that standby is refused before it changes anything.
    let (code, out) = h.client(&[
        "put",
        "written-on-bc2",
        "oops",
        "--table",
        "simtable",
        "--host",
        &lab.addr(12),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    assert!(
        check
            .messages()
            .contains("- bc2, the standby: 1 row(s) exist only on db2, in two hvrcompare passes")
            && check.messages().contains("keys: written-on-bc2"),
        "{}",
        check.messages()
    );
    let refused = h.run("switchover", &["from=bc1", "to=bc2"]);
    assert_refused(&refused, "switchover refused: 1 row(s) exist only on db2");
    // Only bc2 refused (a check of its own): under any_errors_fatal bc1
    // went to the rescue with it, the rescue gave both locks back, and bc1
    // never went on to stop.
    assert_eq!(
        refused.outcome(
            "Stop | break client connections - stop the DBMS communication server",
            "bc1"
        ),
        "none",
        "{}",
        refused.dump()
    );
    assert!(refused.changes().is_empty(), "{:?}", refused.changes());
    assert_eq!(
        refused.outcome(
            "Lock | give back the lock this run took on the other node of the play",
            "bc2"
        ),
        "ok",
        "{}",
        refused.dump()
    );
    assert!(h.holds_vip("bc1") && h.scheduler_answers("bc1") && !h.holds_vip("bc2"));
    no_lock_left(&h, "a switchover refused on the standby");
    // A refusal of both nodes at once (run_once): recover of the active
    // node, whose peer is no active node to copy from.
    let refused = h.run("recover", &["node=bc1"]);
    assert_refused(
        &refused,
        "recover refused: it re-synchronises bc1 from the active node bc2",
    );
    assert!(h.holds_vip("bc1") && h.scheduler_answers("bc1") && !h.holds_vip("bc2"));
    no_lock_left(&h, "a refused recover");
}

/// A refused operation gives its locks back: another controller could act
/// at once.
fn no_lock_left(h: &Hvr, after: &str) {
    for node in ["bc1", "bc2"] {
        assert_eq!(
            h.file(node, &format!("{FILES}/hvrfailover.lock")),
            None,
            "{after} left its lock on {node}"
        );
    }
}

#[test]
fn a_stop_whose_flush_times_out_leaves_state_start_and_says_so() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    // A 30 s integrate lag: only a real flush gets a row to bc2 before the
    // stop returns.
    let slow =
        r#"{"hvr_failover_env": ["HVR_TMP=/tmp", "HVRSIM_DB_PORT=21064", "HVRSIM_LAG_MS=30000"]}"#;
    h.ok("install", &[slow]);
    h.ok("vip", &[slow]);
    h.ok("boot-config", &[slow]);
    h.ok("start", &["node=bc1", slow]);
    // bc2's listener is down: changes committed on bc1 cannot be integrated.
    let (code, out) = h.hvr("bc2", "hvrremotelistener -k 4343");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = h.client(&[
        "write",
        "--host",
        &h.vip(),
        "--prefix",
        "ft",
        "--count",
        "5",
        "--interval-ms",
        "5",
    ]);
    assert_eq!(code, Some(0), "{out}");

    let stop = h.run("stop", &["node=bc1", "hvr_flush_timeout=1"]);
    assert_eq!(stop.code(), Some(2), "{}", stop.dump());
    let why = message_containing(&stop, "did not complete");
    assert!(
        why.contains("the flush did not complete within 1 s")
            && why.contains("STOP was NOT written"),
        "{why}"
    );
    assert_eq!(
        h.state("bc1").as_deref(),
        Some("START"),
        "STOP must not be written"
    );
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.stop_done"))
        .is_none());
    assert!(
        h.scheduler_answers("bc1"),
        "the scheduler keeps running with its changes"
    );
    assert!(
        h.log("bc1").contains("FAILED: the flush did not complete"),
        "{}",
        h.log("bc1")
    );

    // Its scheduler dies with those changes unflushed: the stop names the
    // exact step (start the node again), not a command without its node.
    h.sh(
        "bc1",
        &format!("kill -9 $(cat {FILES}/hvrscheduler_hvrhub.pid)"),
    );
    let stop = h.run("stop", &["node=bc1", slow]);
    assert_eq!(stop.code(), Some(2), "{}", stop.dump());
    let why = message_containing(&stop, "did not complete");
    assert!(
        why.contains("the scheduler of hvrhub is not running, but")
            && why.contains("Its scheduler died: start it again, with the VIP clients lost, by `baton run start -e node=bc1`, then run stop again"),
        "{why}"
    );
    h.ok("start", &["node=bc1", slow]);

    // With the listener back, the same stop completes, and a second one changes nothing.
    let (code, out) = h.hvr("bc2", "hvrremotelistener -d 4343");
    assert_eq!(code, Some(0), "{out}");
    h.ok("stop", &["node=bc1", slow]);
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.stop_done"))
        .is_some());
    // At once, not after the 30 s lag: the stop flushed everything to bc2.
    h.identical_within("bc1", "db1", "db2", Duration::ZERO)
        .unwrap();
    h.again_unchanged("stop", &["node=bc1", slow]);
}

/// The taint cannot be lost, and a double reboot never doubles the VIP, in
/// one lab (a lab costs its set-up): bc1 fails abruptly, failover to bc2,
/// bc2 crashes, bc1 boots: bc1 must not take the VIP. Then both nodes boot
/// at once, 20 times, in the situations a site power cut leaves: in none do
/// both hold the VIP.
#[test]
fn a_tainted_node_never_takes_the_vip_and_a_double_boot_never_doubles_it() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    h.ok("install", &[]);
    h.ok("vip", &[]);
    h.ok("boot-config", &[]);
    h.ok("start", &["node=bc1"]);
    let state_file = lab.dir().join("hvrfailover-taint.state");

    // bc1 fails abruptly; failover to bc2 records the taint on bc2 and on
    // the controller (bc1 cannot be reached).
    let out = lab.baton(&["crash", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    h.ok("failover", &["to=bc2"]);
    assert!(std::fs::read_to_string(&state_file)
        .unwrap()
        .starts_with("node=bc1 survivor=bc2 "));

    // bc2 crashes too; bc1 boots without the controller. It held START and
    // was not stopped cleanly, and cannot reach bc2 at all: it holds.
    let out = lab.baton(&["crash", "bc2"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = lab.baton(&["boot", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    let held = wait_for_log(&h, "bc1", "boot: HOLDING");
    assert!(
        held.contains(&format!("{} cannot be reached at all", lab.addr(12)))
            && held.contains("baton run check -i ")
            && held.contains("-e node=bc1"),
        "{held}"
    );
    assert!(!h.holds_vip("bc1") && !h.scheduler_answers("bc1"));

    // The first playbook that reaches bc1 records the taint on bc1 itself;
    // from then on start refuses it, and so does its boot script, even with
    // the seed's plain behaviour restored and bc2 still gone.
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.self_tainted"))
        .is_some_and(|t| t.starts_with("node=bc1 survivor=bc2 ")));
    let refused = h.run("start", &["node=bc1"]);
    assert_refused(&refused, "start refused on bc1: it is tainted");
    assert!(
        refused.messages().contains("baton run recover -e node=bc1")
            && refused
                .messages()
                .contains("bc2 is unreachable from this controller, so it was NOT locked"),
        "{}",
        refused.messages()
    );
    let seed = r#"{"hvr_boot_hold_when_peer_unreachable": false}"#;
    let config = h.run_args("boot-config", &[seed], &["-l", "bc1"]);
    assert_eq!(config.code(), Some(0), "{}", config.dump());
    let (code, _) = h.sh_code("bc1", "/opt/hvr/bin/hvrfailover-boot");
    assert_eq!(code, Some(1));
    let log = h.log("bc1");
    assert!(
        log.lines().last().is_some_and(
            |l| l.contains("carries a taint about itself") && l.contains("baton run recover")
        ),
        "{log}"
    );
    assert!(!h.holds_vip("bc1") && !h.scheduler_answers("bc1"));

    // bc2, the survivor, boots: it acts at once. recover clears the taint
    // everywhere.
    let out = lab.baton(&["boot", "bc2"]);
    assert!(out.status.success(), "{}", describe(&out));
    wait_for_log(&h, "bc2", "boot: VIP ");
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));
    h.ok("recover", &["node=bc1"]);
    assert!(h
        .file("bc1", &format!("{FILES}/hvrfailover.self_tainted"))
        .is_none());
    assert!(h
        .file("bc2", &format!("{FILES}/hvrfailover.peer_tainted"))
        .is_none());
    assert!(!std::fs::read_to_string(&state_file)
        .unwrap_or_default()
        .contains("node=bc1 "));
    h.ok("boot-config", &[]);

    double_boots(&h);
}

/// Issue 10's trial: the controller's taint record deleted and the survivor
/// down, a node that was active and crashed (state START) boots and is
/// started by hand: `start` must hold as its boot script does, and the boot
/// script's HOLDING message must not name a start that would be refused.
#[test]
fn start_holds_a_crashed_active_node_whose_peer_cannot_be_read() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    h.ok("install", &[]);
    h.ok("vip", &[]);
    h.ok("boot-config", &[]);
    h.ok("start", &["node=bc2"]);
    let state_file = lab.dir().join("hvrfailover-taint.state");

    // recover of a standby that was never stopped (STOP from install, no
    // stop_done): stop_done is a boolean in the status, so recover's
    // conditions evaluate (it was '': "conditional result of type str").
    assert_eq!(
        h.file("bc1", &format!("{FILES}/hvrfailover.stop_done")),
        None
    );
    h.ok("recover", &["node=bc1"]);
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));

    // bc2 (active) crashes, failover to bc1, bc1 crashes too; the
    // controller's taint record is lost; bc2 boots: its boot script holds.
    let out = lab.baton(&["crash", "bc2"]);
    assert!(out.status.success(), "{}", describe(&out));
    h.ok("failover", &["to=bc1"]);
    let out = lab.baton(&["crash", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    std::fs::remove_file(&state_file).unwrap();
    let out = lab.baton(&["boot", "bc2"]);
    assert!(out.status.success(), "{}", describe(&out));
    let held = wait_for_log(&h, "bc2", "boot: HOLDING");
    assert!(
        held.contains("-e node=bc2 -e hvr_start_hold_when_peer_unreachable=false")
            && held.contains("`baton run start` refuses this node too while bc1 cannot be read"),
        "{held}"
    );
    assert_eq!(h.state("bc2").as_deref(), Some("START"));

    // start applies the same rule: refused, naming what to check and the
    // override; nothing on bc2 changed.
    let refused = h.run("start", &["node=bc2"]);
    assert_refused(
        &refused,
        "start refused on bc2: its state is START (it was active and was not stopped cleanly) and its peer bc1 cannot be read",
    );
    assert!(
        refused.messages().contains("baton run check")
            && refused
                .messages()
                .contains("-e node=bc2 -e hvr_start_hold_when_peer_unreachable=false"),
        "{}",
        refused.messages()
    );
    assert!(!h.holds_vip("bc2") && !h.scheduler_answers("bc2"));
    assert_eq!(
        h.file("bc2", &format!("{FILES}/hvrfailover.lock")),
        None,
        "a refused start gives its lock back"
    );

    // check cannot read bc1: it warns that bc1's taint record cannot be seen.
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    assert!(
        check.messages().contains(
            "WARNING: bc1's taint record (hvrfailover.peer_tainted) cannot be seen: if bc1 took over from bc2 by an abrupt failover, bc2 is tainted"
        ) && check
            .messages()
            .contains("do not start bc2 before bc1 is back and checked"),
        "{}",
        check.messages()
    );

    // bc1, the survivor, boots and acts at once; check copies its taint
    // record to the controller and to bc2 itself.
    let out = lab.baton(&["boot", "bc1"]);
    assert!(out.status.success(), "{}", describe(&out));
    wait_for_log(&h, "bc1", "boot: VIP ");
    assert!(h.holds_vip("bc1") && !h.holds_vip("bc2"));
    assert!(!state_file.exists());
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    assert!(
        std::fs::read_to_string(&state_file)
            .unwrap_or_default()
            .starts_with("node=bc2 survivor=bc1 "),
        "{}",
        check.messages()
    );
    assert!(h
        .file("bc2", &format!("{FILES}/hvrfailover.self_tainted"))
        .is_some_and(|t| t.starts_with("node=bc2 survivor=bc1 ")));
    assert!(
        check
            .messages()
            .contains("bc2 is recorded as tainted by bc1"),
        "{}",
        check.messages()
    );
    let refused = h.run("start", &["node=bc2"]);
    assert_refused(
        &refused,
        "start refused on bc2: its peer bc1 records it as tainted",
    );
    h.ok("recover", &["node=bc2"]);

    leftover_and_malformed_locks(&h);
}

/// Issue 10's trial: a malformed lock is named with an unlock command that
/// works; check shows a lock's holder, PID, age and whether that PID runs
/// here, lists a leftover lock with the command that clears it, and names
/// which node to start, or the interrupted switchover to re-run.
fn leftover_and_malformed_locks(h: &Hvr) {
    h.ok("stop", &["node=bc1"]);
    let lock = format!("{FILES}/hvrfailover.lock");
    h.sh("bc1", &format!(": > {lock}"));
    let refused = h.run("start", &["node=bc1"]);
    assert_refused(&refused, "bc1: held: MALFORMED lock file");
    assert!(
        refused
            .messages()
            .contains("-e node=bc1 -e lock_malformed=true"),
        "{}",
        refused.messages()
    );

    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 42;
    h.sh(
        "bc2",
        &format!(
            "echo 'operation=switchover controller={} pid=999999 proc={}:1 since=x epoch={epoch} what=from=bc1 to=bc2' > {lock}",
            hostname(),
            boot.trim()
        ),
    );
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    let m = check.messages();
    let row = message_containing(&check, "operation lock");
    assert!(
        row.contains("MALFORMED lock file")
            && row.contains(&format!(
                "held: switchover from=bc1 to=bc2 by controller {}, pid 999999, age 4",
                hostname()
            ))
            && row.contains("pid 999999 is GONE from this controller"),
        "{row}"
    );
    assert!(
        m.contains("- bc2: a leftover operation lock (")
            && m.contains("-e node=bc2 -e lock_pid=999999")
            && m.contains("- bc1: a MALFORMED lock file")
            && m.contains("-e node=bc1 -e lock_malformed=true")
            && m.contains("no node is active (neither has state START): a switchover (from=bc1 to=bc2) was interrupted: re-running it resumes it: baton run switchover -e from=bc1 -e to=bc2"),
        "{m}"
    );

    // The commands check printed work.
    h.ok("unlock", &["node=bc1", "lock_malformed=true"]);
    assert_eq!(h.file("bc1", &lock), None);
    h.ok("unlock", &["node=bc2", "lock_pid=999999"]);
    assert_eq!(h.file("bc2", &lock), None);
    let check = h.run("check", &[]);
    assert!(
        check
            .messages()
            .contains("no node is active (neither has state START): bc1 was stopped last (")
            && check.messages().contains("baton run start -e node=bc1"),
        "{}",
        check.messages()
    );
}

/// Both nodes boot at once (their boot scripts run concurrently, as after
/// a site power cut), 20 times, in five situations; in none may both hold
/// the VIP, a node tainted about itself never takes it, and the survivor
/// of an abrupt failover does.
fn double_boots(h: &Hvr) {
    // (name, bc1's files, bc2's files, the node that must end with the VIP)
    let survivor_of = |peer: &str| format!("peer={peer} since=2026-01-01T00:00:00Z reason=test");
    let tainted = |me: &str, by: &str| {
        format!("node={me} survivor={by} since=2026-01-01T00:00:00Z reason=test")
    };
    type Files = Vec<(&'static str, String)>;
    let situations: Vec<(&str, Files, Files, Option<&str>)> = vec![
        (
            "both START, no taint (bc_index breaks the tie)",
            vec![],
            vec![],
            None,
        ),
        (
            "bc2 survived bc1",
            vec![],
            vec![("hvrfailover.peer_tainted", survivor_of("bc1"))],
            Some("bc2"),
        ),
        (
            "bc1 survived bc2",
            vec![("hvrfailover.peer_tainted", survivor_of("bc2"))],
            vec![],
            Some("bc1"),
        ),
        (
            "bc1 survived bc2, bc2 knows",
            vec![("hvrfailover.peer_tainted", survivor_of("bc2"))],
            vec![("hvrfailover.self_tainted", tainted("bc2", "bc1"))],
            Some("bc1"),
        ),
        (
            "bc1 knows it is tainted, bc2 lost its record",
            vec![("hvrfailover.self_tainted", tainted("bc1", "bc2"))],
            vec![],
            Some("bc2"),
        ),
    ];
    let vip = h.vip();
    let mut doubles = 0;
    let mut tally: Vec<String> = Vec::new();
    for run in 0..20 {
        let (name, f1, f2, want) = &situations[run % situations.len()];
        for (node, files) in [("bc1", f1), ("bc2", f2)] {
            let mut reset = format!(
                "{HVRENV} hvrscheduler -k hvrhub >/dev/null 2>&1; ip addr del {vip}/24 dev eth0 2>/dev/null; ip neigh flush all; cd {FILES} && echo START > hvrfailover.state && rm -f hvrfailover.stop_done hvrfailover.peer_tainted hvrfailover.self_tainted hvrfailover.lock"
            );
            for (file, line) in files {
                reset.push_str(&format!(" && echo '{line}' > {file}"));
            }
            h.sh(node, &reset);
        }
        let boots: Vec<std::process::Child> = ["bc1", "bc2"]
            .iter()
            .map(|node| {
                std::process::Command::new(BATON)
                    .args(["lab", "shell", "--dir"])
                    .arg(h.lab.dir())
                    .args([node, "--", "/opt/hvr/bin/hvrfailover-boot"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut b in boots {
            b.wait().unwrap();
        }
        // One look at each node: does it hold the VIP, does its scheduler answer?
        let look = |node: &str| {
            let out = h.sh(
                node,
                &format!("ip -4 -o addr show dev eth0; {HVRENV} hvrtestscheduler -t1 hvrhub >/dev/null 2>&1; echo scheduler=$?"),
            );
            (
                out.contains(&format!(" {vip}/")),
                out.ends_with("scheduler=0"),
            )
        };
        let ((vip1, sched1), (vip2, sched2)) = (look("bc1"), look("bc2"));
        let holds = [vip1, vip2];
        let schedulers = [sched1, sched2];
        let holder = match holds {
            [true, true] => "BOTH",
            [true, false] => "bc1",
            [false, true] => "bc2",
            [false, false] => "none",
        };
        if holder == "BOTH" {
            doubles += 1;
        }
        tally.push(format!(
            "run {:2} ({name}): VIP on {holder}, schedulers {schedulers:?}",
            run + 1
        ));
        assert!(
            !(schedulers[0] && schedulers[1]),
            "run {}: both schedulers run ({name})\nbc1: {}\nbc2: {}",
            run + 1,
            h.log("bc1"),
            h.log("bc2")
        );
        if let Some(want) = want {
            assert_eq!(
                holder,
                *want,
                "run {} ({name})\nbc1: {}\nbc2: {}",
                run + 1,
                h.log("bc1"),
                h.log("bc2")
            );
        }
    }
    eprintln!("double boot, 20 runs:\n{}", tally.join("\n"));
    eprintln!("double boot: {doubles} of 20 runs with both nodes holding the VIP");
    assert_eq!(doubles, 0, "{}", tally.join("\n"));
}

/// Without a lab: every playbook loads against the example inventory, and
/// start/stop map the seed's -r and -v options to the tags `replication` and `vip`.
#[test]
fn playbooks_load_and_map_r_and_v_to_tags() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let inventory = repo.join("inventory/bc-pair.example.yml");
    let baton = |args: &[&str]| {
        let out = std::process::Command::new(BATON)
            .current_dir(repo)
            .arg("run")
            .args(args)
            .arg("-i")
            .arg(&inventory)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
        text(&out.stdout)
    };
    // Every playbook in playbooks/, so a new one cannot be forgotten here.
    let mut files: Vec<String> = std::fs::read_dir(repo.join("playbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .map(|p| format!("playbooks/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    for name in ["install", "start", "switchover", "failover", "recover"] {
        let file = format!("playbooks/{name}.yml");
        assert!(files.contains(&file), "{file} is missing: {files:?}");
    }
    for file in &files {
        let out = baton(&[file, "--syntax-check"]);
        assert!(out.contains("syntax OK"), "{file}: {out}");
    }
    let listed = |playbook: &str, tag: &str| -> Vec<String> {
        baton(&[playbook, "--list-tasks", "-t", tag, "-e", "node=dbnode-a"])
            .lines()
            .filter(|l| l.contains("TAGS:"))
            .map(|l| l.trim().split("  (").next().unwrap().to_string())
            // a role's task is listed as `role : name`, as Ansible lists it
            .map(|t| {
                t.rsplit_once(" : ")
                    .map_or(t.clone(), |(_, bare)| bare.to_string())
            })
            .collect()
    };
    // -v (tag vip): the VIP probe and the VIP; not the scheduler.
    let vip = listed("start", "vip");
    assert!(
        vip.iter()
            .any(|t| t == "Pre-flight | the VIP must not answer (no other node serves it)"),
        "{vip:?}"
    );
    assert!(
        vip.iter()
            .any(|t| t == "Start | add the VIP and announce it by gratuitous ARP"),
        "{vip:?}"
    );
    assert!(!vip.iter().any(|t| t.contains("scheduler")), "{vip:?}");
    assert!(
        vip.iter()
            .any(|t| t == "Command line | the node names are members of the BC group"),
        "{vip:?}"
    );
    // -r (tag replication): the scheduler probe and the scheduler; never the VIP.
    let replication = listed("start", "replication");
    assert!(
        replication
            .iter()
            .any(|t| t == "Pre-flight | the other hub's scheduler must not answer"),
        "{replication:?}"
    );
    assert!(
        replication
            .iter()
            .any(|t| t == "Start | start the scheduler (replication to the other node)"),
        "{replication:?}"
    );
    assert!(
        !replication.iter().any(|t| t.contains("VIP")),
        "{replication:?}"
    );
    let stop_r = listed("stop", "replication");
    assert!(
        stop_r
            .iter()
            .any(|t| t == "Stop | flush replication, then stop the scheduler"),
        "{stop_r:?}"
    );
    assert!(
        !stop_r.iter().any(|t| t == "Stop | remove the VIP"),
        "{stop_r:?}"
    );
    let stop_v = listed("stop", "vip");
    assert!(
        stop_v.iter().any(|t| t == "Stop | remove the VIP"),
        "{stop_v:?}"
    );
    assert!(
        !stop_v
            .iter()
            .any(|t| t.contains("communication server") || t.contains("flush replication")),
        "{stop_v:?}"
    );
    for both in [&stop_r, &stop_v] {
        assert!(
            both.iter().any(|t| t == "Stop | record STOP and stop_done"),
            "{both:?}"
        );
    }
}

/// Issue 11 item 6 (the seed's table 26-40): hvrfailover.opt changed on the
/// active node after the standby's last hvrinit and daemon starts: check
/// flags the standby, switchover refuses it, a re-init clears it.
#[test]
fn a_standby_that_missed_a_change_on_the_active_node_is_flagged_and_refused_until_re_init() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    for playbook in ["install", "vip", "boot-config"] {
        h.ok(playbook, &[]);
    }
    h.ok("start", &["node=bc1"]);
    let fresh = h.ok("check", &[]);
    assert!(
        fresh.messages().contains("standby refresh"),
        "{}",
        fresh.messages()
    );
    // Times are whole seconds: the change comes in a later second.
    std::thread::sleep(Duration::from_millis(1100));
    h.sh("bc1", &format!("touch {FILES}/hvrfailover.opt"));

    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    let why = message_containing(&check, "needs re-init or restart");
    assert!(
        why.starts_with(
            "- bc2, the standby: needs re-init or restart: hvrfailover.opt changed on bc1 at "
        ) && why.contains("after bc2's last hvrinit (")
            && why.contains("hvrinit hvrhub orders"),
        "{why}"
    );
    assert!(
        check.messages().contains("NEEDS re-init or restart"),
        "{}",
        check.messages()
    );

    let refused = h.run("switchover", &["from=bc1", "to=bc2"]);
    assert_refused(
        &refused,
        "switchover refused: bc2 needs re-init or restart: hvrfailover.opt changed on bc1",
    );
    assert_eq!(h.state("bc1").as_deref(), Some("START"));
    assert!(h.holds_vip("bc1"));

    std::thread::sleep(Duration::from_millis(1100));
    let (code, out) = h.hvr("bc2", "hvrinit hvrhub orders");
    assert_eq!(code, Some(0), "{out}");
    h.ok("switchover", &["from=bc1", "to=bc2"]);
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));

    // A stopped node whose state file says START again (restored from a
    // backup, or a disk that lost the STOP write): check names the node to
    // stop, by the VIP, and that step makes check pass.
    h.sh("bc1", &format!("echo START > {FILES}/hvrfailover.state"));
    let check = h.run("check", &[]);
    assert_eq!(check.code(), Some(2), "{}", check.dump());
    let m = check.messages();
    assert!(
        m.contains("- both nodes have state START: only one may be active: bc2 holds the VIP, so bc2 is the active node; stop the other: baton run stop -i ")
            && m.contains(" -e node=bc1")
            && m.contains("- bc1: state START but its scheduler is down: nothing is replicated to bc2 (both nodes have state START: see below)"),
        "{m}"
    );
    h.ok("stop", &["node=bc1"]);
    h.ok("check", &[]);
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));

    // The switchover to bc2 again, with bc1's stop_done lost (its first run
    // ended while recording the stop): it has taken place, and the refusal
    // names the step that proves bc1's stop; then it ends as already done.
    h.sh("bc1", &format!("rm {FILES}/hvrfailover.stop_done"));
    let refused = h.run("switchover", &["from=bc1", "to=bc2"]);
    assert_refused(
        &refused,
        "bc2 already serves and bc1 is stopped, but bc1 has no stop_done",
    );
    assert!(
        refused
            .messages()
            .contains("record its stop with `baton run stop -e node=bc1`"),
        "{}",
        refused.messages()
    );
    h.ok("stop", &["node=bc1"]);
    let done = h.ok("switchover", &["from=bc1", "to=bc2"]);
    assert!(
        done.messages().contains("nothing to do: bc2 is active"),
        "{}",
        done.messages()
    );
}

/// `check -e doctor=true`: one line per check per node, every verdict ok on
/// a healthy pair; a drill report whose flush took most of
/// hvr_flush_timeout flags it as too tight; a scheduler left running on the
/// stopped node is a leftover process.
#[test]
fn check_doctor_prints_each_check_per_node_and_flags_a_tight_wait_and_a_leftover_scheduler() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    for playbook in ["install", "vip", "boot-config"] {
        h.ok(playbook, &[]);
    }
    h.ok("start", &["node=bc1"]);
    let drills = tempfile::tempdir().unwrap();
    let report = drills.path().join("20261129T000000Z");
    std::fs::create_dir_all(&report).unwrap();
    let task = |name: &str, took: f64| {
        format!(
            r#"{{"host": "bc1", "task": "hvr_failover : {name}", "started_at": 100.0, "ended_at": {}, "outcome": "changed"}}"#,
            100.0 + took
        )
    };
    std::fs::write(
        report.join("drill.json"),
        format!(
            r#"{{"schema": "baton-drill/1", "setup": [{{"tasks": [{}]}}], "phases": [{{"runs": [{{"tasks": [{}]}}]}}]}}"#,
            task("Start | start the scheduler (replication to the other node)", 1.5),
            task("Stop | flush replication, then stop the scheduler", 40.0)
        ),
    )
    .unwrap();
    let dir = format!("hvr_doctor_drill_dir={}", drills.path().display());

    let run = h.run("check", &["doctor=true", &dir]);
    assert_eq!(run.code(), Some(2), "{}", run.dump());
    let text = run.messages();
    let verdict = |who: &str, check: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().take(2).eq([who, check]))
            .unwrap_or_else(|| panic!("no line for {who} {check}:\n{text}"));
        line.split_whitespace().nth(2).unwrap().to_string()
    };
    for node in ["bc1", "bc2"] {
        for check in ["processes", "listener", "disk", "clock"] {
            assert_eq!(verdict(node, check), "ok", "{node} {check}:\n{text}");
        }
    }
    assert_eq!(verdict("drills", "scheduler_start"), "ok", "{text}");
    assert_eq!(verdict("drills", "flush"), "problem", "{text}");
    let why = message_containing(&run, "doctor hvr_flush_timeout");
    assert!(
        why.contains("too tight: the flush took up to 40.0 s (bc1 in ")
            && why.contains("raise it to at least 80 s"),
        "{why}"
    );

    // A scheduler left running on the stopped node.
    let (code, out) = h.hvr("bc2", "hvrscheduler hvrhub");
    assert_eq!(code, Some(0), "{out}");
    let run = h.run("check", &["doctor=true", &dir]);
    let why = message_containing(&run, "doctor processes");
    assert!(
        why.starts_with("- bc2: doctor processes: HVR processes still run on this stopped node: ")
            && why.contains(" hvrscheduler ")
            && !why.contains("hvrremotelistener"),
        "{why}"
    );
    let (code, out) = h.hvr("bc2", "hvrscheduler -k hvrhub");
    assert_eq!(code, Some(0), "{out}");
}
/// Rapid switchover: `switchover_mode=prepare` writes a plan; a plan whose
/// status fields changed, or that expired, is refused naming why; a valid
/// plan runs the critical path only, and `to`'s start pre-flight still runs.
#[test]
fn a_prepared_switchover_refuses_a_stale_plan_and_runs_a_fresh_one() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    bring_up(&h);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sw.plan.json");
    let plan_file = format!("switchover_plan_file={}", file.display());
    let plan = format!("plan={}", file.display());

    let prepared = h.ok(
        "switchover",
        &["from=bc1", "to=bc2", "switchover_mode=prepare", &plan_file],
    );
    assert!(
        h.holds_vip("bc1") && !h.holds_vip("bc2"),
        "{}",
        prepared.dump()
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["seen_from"]["vip_held"], serde_json::json!(true));
    assert_eq!(
        written["seen_to"]["state"].as_str().map(|s| s != "START"),
        Some(true)
    );

    // bc1 loses its VIP after the plan was made: refused, naming the field.
    let vip_only = h.run_args("stop", &["node=bc1"], &["-t", "vip"]);
    assert_eq!(vip_only.code(), Some(0), "{}", vip_only.dump());
    let refused = h.run("switchover", &["from=bc1", "to=bc2", &plan]);
    assert_refused(&refused, "bc1 vip_held: true -> false");
    assert!(refused.messages().contains("no longer holds: "));
    h.ok("start", &["node=bc1"]);

    // An expired plan is refused.
    h.ok(
        "switchover",
        &[
            "from=bc1",
            "to=bc2",
            "switchover_mode=prepare",
            &plan_file,
            "switchover_plan_valid=0",
        ],
    );
    std::thread::sleep(Duration::from_millis(1100));
    let expired = h.run("switchover", &["from=bc1", "to=bc2", &plan]);
    assert_refused(&expired, "expired");

    // A fresh plan: the slow pre-flights are skipped, the start pre-flight is not.
    h.ok(
        "switchover",
        &["from=bc1", "to=bc2", "switchover_mode=prepare", &plan_file],
    );
    let rapid = h.ok("switchover", &["from=bc1", "to=bc2", &plan]);
    assert!(
        rapid.messages().contains("the plan "),
        "{}",
        rapid.messages()
    );
    assert_eq!(
        rapid.outcome(
            "Pre-flight | the active node reaches the target's remote listener (the flush goes there)",
            "bc1"
        ),
        "skipped"
    );
    // to's start pre-flight ran, with duplicate-address detection, in the
    // same task as bc1's flush (after bc1 removed the VIP), and the VIP add
    // says which detection it relied on.
    const OVERLAP: &str = "Critical | communication server, flush and STOP on from, hvrcompare at the switch point; meanwhile to's start pre-flight (VIP probe, duplicate-address detection)";
    assert_eq!(rapid.outcome(OVERLAP, "bc2"), "ok", "{}", rapid.dump());
    assert_eq!(rapid.outcome(OVERLAP, "bc1"), "changed");
    let span = |host: &str| {
        let r = rapid
            .results()
            .find(|e| support::is_task(e, OVERLAP) && e["host"] == host)
            .unwrap();
        let start = r["started_at"].as_f64().unwrap();
        (start, start + r["elapsed_ms"].as_f64().unwrap() / 1000.0)
    };
    let ((pf_start, _), (_, flush_end)) = (span("bc2"), span("bc1"));
    assert!(
        pf_start < flush_end,
        "the pre-flight did not overlap the flush"
    );
    assert!(
        rapid.task_end(
            "Critical | stop on from - break client connections, remove the VIP (one round trip)"
        ) <= pf_start,
        "to's pre-flight began before from had removed the VIP"
    );
    let verdict = message_containing(&rapid, "does not answer: no reply from");
    assert!(
        verdict.contains("no other host answers ARP for")
            && verdict.contains("Received 0 response"),
        "{verdict}"
    );
    message_containing(&rapid, "arping -D found no other holder in the start pre-flight (after the old holder removed it) and just after adding it");
    assert_eq!(
        rapid.outcome(
            "Pre-flight | the VIP must not answer (no other node serves it)",
            "bc2"
        ),
        "skipped",
        "the cold path's tasks do not run on the plan path"
    );
    assert!(
        rapid.messages().contains("switchover bc1 -> bc2 done"),
        "{}",
        rapid.messages()
    );
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));
    assert_eq!(h.state("bc2").as_deref(), Some("START"));
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));

    // The plan skipped the standby-writes compare; a row written directly
    // on the target after the plan was made is caught by the hvrcompare at
    // the switch point, and the target is not started.
    h.ok(
        "switchover",
        &["from=bc2", "to=bc1", "switchover_mode=prepare", &plan_file],
    );
    let (code, out) = h.client(&[
        "put",
        "written-on-bc1",
        "oops",
        "--table",
        "simtable",
        "--host",
        &lab.addr(11),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let stopped = h.run("switchover", &["from=bc2", "to=bc1", &plan]);
    assert_eq!(stopped.code(), Some(2), "{}", stopped.dump());
    message_containing(
        &stopped,
        "switchover (prepared) stopped on bc2, at hvrcompare: ",
    );
    assert_eq!(
        stopped.outcome(
            "Critical | start on to - the scheduler (after its probe) and the VIP with gratuitous ARP at once, then START (one round trip)",
            "bc1"
        ),
        "none"
    );
    assert!(!h.holds_vip("bc1") && !h.holds_vip("bc2") && !h.scheduler_answers("bc1"));
    assert_eq!(h.state("bc2").as_deref(), Some("STOP"));
}

/// The prepared switchover's start pre-flight is never skipped: a third
/// host that answers ARP for the VIP but not ping (ICMP silenced) appears
/// after the plan was made. `from` is stopped and flushed, as on the cold
/// path, but `to` refuses before it changes anything: no VIP, no scheduler,
/// no START; the refusal quotes arping. With the intruder gone, the same
/// switchover without a plan resumes and finishes.
#[test]
fn a_prepared_switchover_refuses_when_duplicate_address_detection_finds_the_vip_answered() {
    require_root!();
    let lab = Lab::running();
    let h = Hvr::new(&lab);
    bring_up(&h);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sw.plan.json");
    let plan_file = format!("switchover_plan_file={}", file.display());
    h.ok(
        "switchover",
        &["from=bc1", "to=bc2", "switchover_mode=prepare", &plan_file],
    );
    // The intruder: the client netns takes the VIP and ignores ping.
    let vip = h.vip();
    lab.sh(
        "client",
        &format!("sysctl -qw net.ipv4.icmp_echo_ignore_all=1 && ip addr add {vip}/32 dev eth0"),
    );
    let refused = h.run(
        "switchover",
        &["from=bc1", "to=bc2", &format!("plan={}", file.display())],
    );
    assert_eq!(refused.code(), Some(2), "{}", refused.dump());
    let why = message_containing(&refused, "switchover stopped halfway: start refused on bc2");
    assert!(
        why.contains("NOT SAFE: another host answers ARP for")
            && why.contains("it does not answer ping"),
        "{why}"
    );
    assert_eq!(
        refused.outcome(
            "Critical | start on to - the scheduler (after its probe) and the VIP with gratuitous ARP at once, then START (one round trip)",
            "bc2"
        ),
        "none",
        "to was started after its pre-flight refused"
    );
    assert!(!h.holds_vip("bc2") && !h.holds_vip("bc1"));
    assert!(!h.scheduler_answers("bc2"));
    assert_ne!(h.state("bc2").as_deref(), Some("START"));
    assert_eq!(h.state("bc1").as_deref(), Some("STOP"));

    lab.sh(
        "client",
        &format!("ip addr del {vip}/32 dev eth0 && sysctl -qw net.ipv4.icmp_echo_ignore_all=0"),
    );
    let resumed = h.ok("switchover", &["from=bc1", "to=bc2"]);
    message_containing(&resumed, "resuming");
    assert!(h.holds_vip("bc2") && !h.holds_vip("bc1"));
}

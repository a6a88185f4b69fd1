//! Two simulated BC nodes on loopback: replication with lag, graceful stop with flush,
//! SIGKILL's in-flight changes captured again at the restart, refresh/compare/init, the DBMS communication-server bounce,
//! hvrtestlistener, hvrlogrelease and hvrmaint.

mod lab;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, SystemTime};

use lab::{field, path_str, wait_for, Lab, CHANNEL, HUB};

#[test]
fn replicates_after_the_lag_and_flushes_on_graceful_stop() {
    let mut lab = Lab::new("flush");
    lab.set_env(0, "HVRSIM_LAG_MS", "3000");
    lab.start_node(0);
    lab.start_node(1);
    // bc2's channel starts at the beginning of its (empty) journal, for the loop check below.
    lab.ok(1, "hvrinit", &[HUB, CHANNEL]);

    let started = lab.start_scheduler(0);
    assert!(started.stdout.contains("started"), "{}", started.stdout);
    assert!(
        started.elapsed < Duration::from_secs(5),
        "start took {:?}",
        started.elapsed
    );
    lab.ok(0, "hvrtestscheduler", &["-t2", HUB]);
    let again = lab.run(0, "hvrscheduler", &[HUB]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already running"), "{}", again.stderr);

    let first = lab.write_rows(0, "a", 20);
    // Younger than the 3 s lag: nothing has reached bc2 yet, and all of it is pending.
    assert_eq!(lab.count(1), 0);
    let view = lab.routerview(0);
    assert_eq!(view.field("pending"), "20", "{}", view.stdout);
    assert_eq!(view.field("scheduler"), "running");
    assert!(view.field("lag_ms").parse::<u64>().unwrap() < 3000);

    wait_for(
        "the rows to reach bc2 after the lag",
        Duration::from_secs(15),
        || lab.count(1) == 20,
    );
    wait_for("pending to drop to 0", Duration::from_secs(5), || {
        lab.routerview(0).field("pending") == "0"
    });

    let second = lab.write_rows(0, "b", 10);
    assert!(lab.count(1) < 30, "the lag was not honoured");
    // The flush (hvrstart -w of the capture job, then of the integrate job) integrates
    // everything committed without waiting for the lag; then -k stops the scheduler.
    let started = std::time::Instant::now();
    let flush = lab.flush(0);
    assert!(
        flush.stdout.contains("completed a cycle"),
        "{}",
        flush.stdout
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "flush waited for the lag: {:?}",
        started.elapsed()
    );
    assert_eq!(lab.count(1), 30, "the flush integrated everything");
    let stop = lab.ok(0, "hvrscheduler", &["-k", HUB]);
    assert!(stop.stdout.contains("stopped"), "{}", stop.stdout);
    let compare = lab.compare(0).ok();
    assert!(compare.stdout.contains("identical"), "{}", compare.stdout);
    let view = lab.routerview(0);
    assert_eq!(view.field("pending"), "0");
    assert_eq!(view.field("scheduler"), "stopped");
    lab.ok(0, "hvrscheduler", &["-k", HUB]); // stopping a stopped scheduler is fine
    assert_eq!(lab.run(0, "hvrtestscheduler", &["-t1", HUB]).code, 1);

    // Every acknowledged row is on bc2.
    let acked = lab.root.join("acked-all");
    fs::write(
        &acked,
        format!("{}\n{}\n", first.join("\n"), second.join("\n")),
    )
    .unwrap();
    let verify = lab
        .client(1, &["verify", "--acked-log", &path_str(&acked)])
        .ok();
    assert!(
        verify.stdout.starts_with("acked=30 present=30 missing=0"),
        "{}",
        verify.stdout
    );

    // bc2 captures from the start of its journal, which holds only replicated rows: nothing
    // goes back to bc1 (no replication loop).
    let bc1_last_seq = lab.routerview(0).field("last_seq");
    lab.start_scheduler(1);
    wait_for(
        "bc2's capture to read its journal",
        Duration::from_secs(5),
        || lab.routerview(1).field("captured_seq") == "30",
    );
    assert_eq!(lab.routerview(1).field("pending"), "0");
    lab.ok(1, "hvrscheduler", &["-k", HUB]);
    assert_eq!(lab.routerview(0).field("last_seq"), bc1_last_seq);
    assert_eq!(lab.count(0), 30);
}

#[test]
fn sigkill_loses_no_committed_change_the_restart_captures_them_again() {
    let mut lab = Lab::new("phantom");
    lab.set_env(0, "HVRSIM_LAG_MS", "60000");
    lab.start_node(0);
    lab.start_node(1);
    lab.start_scheduler(0);
    let lost = lab.write_rows(0, "p", 7);
    wait_for("the rows to be captured", Duration::from_secs(5), || {
        lab.routerview(0).field("in_flight") == "7"
    });
    lab.kill(lab.scheduler_pid(0), "-9");

    assert_eq!(lab.run(0, "hvrtestscheduler", &["-t1", HUB]).code, 1);
    let view = lab.routerview(0);
    assert_eq!(view.field("scheduler"), "stopped");
    assert_eq!(view.field("pending"), "7");
    assert_eq!(view.field("in_flight"), "7");

    let compare = lab.compare(0);
    assert_eq!(compare.code, 1, "{}", compare.stdout);
    assert!(
        compare.stdout.contains("7 rows differ"),
        "{}",
        compare.stdout
    );
    for key in &lost {
        assert!(
            compare.stdout.contains(&format!("only in db1: {key}")),
            "{key} not listed"
        );
    }
    // An event-driven verbose row-by-row compare writes the SQL into a diff file named as
    // HVR 5 names them; an identical table writes none.
    let event = lab.run(
        0,
        "hvrcompare",
        &["-gr", "-v", "-e", "-rdb1", "-ldb2", HUB, CHANNEL],
    );
    assert_eq!(event.code, 1, "{}", event.stdout);
    let diff_dir = lab.node(0).config.join("diff").join(HUB).join(CHANNEL);
    let files: Vec<_> = fs::read_dir(&diff_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("orders-cmp-db1-db2_") && name.ends_with(".diff"),
        "{name}"
    );
    assert!(name.contains("_simtable_"), "{name}");
    let sql = fs::read_to_string(&files[0]).unwrap();
    assert_eq!(sql.lines().count(), 7, "{sql}");
    for key in &lost {
        assert!(
            sql.contains(&format!("insert into simtable (k, v) values ('{key}', ")),
            "{sql}"
        );
        assert!(
            event.stdout.contains(&format!("values ('{key}', ")),
            "{}",
            event.stdout
        );
    }

    // The restarted scheduler captures them again from the journal and sends them: log-based
    // capture reads the DBMS log from its saved position (finding 3 of the fault matrix: a
    // crashed node's acknowledged rows never reached its peer after its restart).
    lab.set_env(0, "HVRSIM_LAG_MS", "0");
    lab.ok(0, "hvrscheduler", &[HUB]);
    assert!(
        lab.hvr_out(0).contains(
            "W_JSIM02: 7 changes captured from db1 but never acknowledged by db2: the previous \
             scheduler did not stop gracefully; capturing them again"
        ),
        "{}",
        lab.hvr_out(0)
    );
    wait_for("the 7 rows to replicate", Duration::from_secs(5), || {
        lab.count(1) == 7
    });
    lab.write_rows(0, "q", 1);
    wait_for("a new row to replicate", Duration::from_secs(5), || {
        lab.count(1) == 8
    });
    let view = lab.routerview(0);
    assert_eq!(view.field("phantom"), "0");
    assert_eq!(view.field("pending"), "0");
    assert!(lab.compare(0).ok().stdout.contains("identical"));
    // Killed again with nothing in flight: the next start has nothing to capture again.
    lab.kill(lab.scheduler_pid(0), "-9");
    lab.ok(0, "hvrscheduler", &[HUB]);
    assert_eq!(lab.hvr_out(0).matches("W_JSIM02").count(), 1);
    lab.write_rows(0, "r", 1);
    wait_for(
        "a row after the second restart",
        Duration::from_secs(5),
        || lab.count(1) == 9,
    );

    let refused = lab.run(0, "hvrinit", &[HUB, CHANNEL]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("stop it first"),
        "{}",
        refused.stderr
    );
    lab.ok(0, "hvrscheduler", &["-k", HUB]);

    // A row only bc2 has must go too: refresh makes the target identical.
    lab.client(1, &["write", "--prefix", "only2", "--count", "1"])
        .ok();
    // bc2's capture starts after that row, so it sees only what the refresh writes next.
    lab.ok(1, "hvrinit", &[HUB, CHANNEL]);
    let refresh = lab.ok(0, "hvrrefresh", &["-rdb1", "-ldb2", HUB, CHANNEL]);
    assert!(
        refresh
            .stdout
            .contains("1 rows changed (0 inserted, 0 updated, 1 deleted)"),
        "{}",
        refresh.stdout
    );
    assert!(lab.compare(0).ok().stdout.contains("identical"));
    let again = lab.ok(0, "hvrrefresh", &["-rdb1", "-ldb2", HUB, CHANNEL]);
    assert!(
        again.stdout.contains(": 0 rows changed"),
        "{}",
        again.stdout
    );

    // hvrinit does the table enrolment: it (re)writes the channel's enroll file in the router
    // directory, whose time baton reads as "the last hvrinit".
    let enroll = lab.nodes[0]
        .config
        .join("router")
        .join(HUB)
        .join(CHANNEL)
        .join("db1.enroll");
    let before = fs::metadata(&enroll).and_then(|m| m.modified()).ok();
    let init = lab.ok(0, "hvrinit", &[HUB, CHANNEL]);
    assert!(
        init.stdout.contains("phantom count reset"),
        "{}",
        init.stdout
    );
    let after = fs::metadata(&enroll).unwrap().modified().unwrap();
    assert!(before.is_none_or(|b| after > b), "{before:?} {after:?}");
    assert!(fs::read_to_string(&enroll)
        .unwrap()
        .contains("location=db1"));
    let view = lab.routerview(0);
    assert_eq!(view.field("phantom"), "0");
    assert_eq!(view.field("pending"), "0");
    assert_eq!(view.field("captured_seq"), view.field("last_seq"));

    // Rows the refresh wrote into bc2 are not captured there: bc2's scheduler sends nothing.
    let bc1_last = lab.routerview(0).field("last_seq");
    let bc2_view = lab.routerview(1);
    assert_eq!(bc2_view.field("pending"), "0", "{}", bc2_view.stdout);
    assert_ne!(bc2_view.field("captured_seq"), bc2_view.field("last_seq"));
    lab.start_scheduler(1);
    wait_for(
        "bc2's capture to read the refresh",
        Duration::from_secs(5),
        || {
            let view = lab.routerview(1);
            view.field("captured_seq") == view.field("last_seq")
        },
    );
    lab.ok(1, "hvrscheduler", &["-k", HUB]);
    assert_eq!(lab.routerview(0).field("last_seq"), bc1_last);
}

#[test]
fn an_integrate_cycle_waits_while_the_location_is_unreachable() {
    let mut lab = Lab::new("noflush");
    lab.set_env(0, "HVRSIM_LAG_MS", "0");
    lab.set_env(0, "HVRSIM_RETRY_MS", "100");
    lab.start_node(0);
    lab.ok(1, "ingstart", &[]); // bc2's listener stays down: db2 is unreachable
    lab.ok(0, "hvrscheduler", &[HUB]);
    lab.write_rows(0, "n", 3);
    lab.ok(0, "hvrstart", &["-w", HUB, &format!("{CHANNEL}-cap")]);

    // hvrstart -w has no time-out, as in HVR: the caller bounds it.
    let mut waiting = Command::new(lab.bin.join("hvrstart"));
    waiting
        .args(["-w", HUB, &format!("{CHANNEL}-integ")])
        .env("HVR_CONFIG", &lab.node(0).config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = waiting.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the integrate cycle cannot complete while db2 is unreachable"
    );
    let view = lab.routerview(0);
    assert_eq!(view.field("pending"), "3");
    let location = view
        .stdout
        .lines()
        .find(|l| l.starts_with("location=db2"))
        .unwrap();
    assert!(location.contains("queued=3"), "{location}");
    assert!(location.contains("error=location db2"), "{location}");
    // hvrrouterview shows the waiting changes as a transaction file.
    let xml = lab.ok(0, "hvrrouterview", &[HUB, CHANNEL]).stdout;
    assert_eq!(xml.matches("<file name=").count(), 1, "{xml}");
    assert!(xml.contains("<!-- changes --><int>3</int>"), "{xml}");

    let port = lab.node(1).listener_port.to_string();
    lab.ok(1, "hvrremotelistener", &["-d", &port]);
    wait_for(
        "the integrate cycle to complete",
        Duration::from_secs(10),
        || child.try_wait().unwrap().is_some(),
    );
    assert!(lab.compare(0).ok().stdout.contains("identical"));
    let xml = lab.ok(0, "hvrrouterview", &[HUB, CHANNEL]).stdout;
    assert!(!xml.contains("<file"), "{xml}");
    assert!(xml.trim_end().ends_with("</hvr_private>"), "{xml}");
    assert!(lab.hvr_out(0).contains("integration into db2 resumed"));
    lab.ok(0, "hvrscheduler", &["-k", HUB]);
}

#[test]
fn stop_loses_nothing_and_suspended_jobs_do_nothing() {
    let mut lab = Lab::new("jobs");
    lab.set_env(0, "HVRSIM_LAG_MS", "60000");
    lab.start_node(0);
    lab.start_node(1);
    // hvrinit creates the jobs SUSPEND: nothing is captured until they are unsuspended.
    lab.ok(0, "hvrinit", &[HUB, CHANNEL]);
    lab.ok(0, "hvrscheduler", &[HUB]);
    assert!(lab
        .routerview(0)
        .stdout
        .contains("cap=SUSPEND integ=SUSPEND"));
    let skipped = lab.run(0, "hvrstart", &["-w", HUB, CHANNEL]);
    assert_eq!(skipped.code, 1, "{}", skipped.stdout);
    assert!(skipped.stdout.contains("is SUSPEND"), "{}", skipped.stdout);
    lab.ok(0, "hvrsuspend", &["-u", HUB, &format!("{CHANNEL}-cap")]);
    lab.write_rows(0, "k", 5);
    wait_for("the rows to be captured", Duration::from_secs(5), || {
        lab.routerview(0).field("in_flight") == "5"
    });
    // The integrate job is still SUSPEND: an integrate cycle is skipped, nothing is sent.
    assert_eq!(
        lab.run(0, "hvrstart", &["-w", HUB, &format!("{CHANNEL}-integ")])
            .code,
        1
    );
    assert_eq!(lab.count(1), 0);

    // -k does not flush, and loses nothing: the next start captures the rows again.
    lab.ok(0, "hvrscheduler", &["-k", HUB]);
    let view = lab.routerview(0);
    assert_eq!(view.field("pending"), "5");
    assert_eq!(view.field("in_flight"), "0", "{}", view.stdout);
    assert_eq!(lab.count(1), 0);
    lab.set_env(0, "HVRSIM_LAG_MS", "0");
    lab.ok(0, "hvrscheduler", &[HUB]);
    assert!(
        lab.routerview(0)
            .stdout
            .contains("cap=PENDING integ=SUSPEND"),
        "states survive a restart"
    );
    lab.ok(0, "hvrstart", &["-u", "-w", HUB, CHANNEL]);
    assert_eq!(lab.count(1), 5);
    let view = lab.routerview(0);
    assert_eq!(view.field("phantom"), "0");
    assert_eq!(view.field("pending"), "0");
    assert!(!lab.hvr_out(0).contains("W_JSIM02"));
    lab.ok(0, "hvrscheduler", &["-k", HUB]);
    let refused = lab.run(0, "hvrsuspend", &[HUB, CHANNEL]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("to be running"),
        "{}",
        refused.stderr
    );
    let usage = lab.run(0, "hvrscheduler", &["-k", "-t5", HUB]);
    assert_eq!(usage.code, 2, "-t is not an option of hvrscheduler");
}

#[test]
fn iigcc_bounce_breaks_clients_and_the_writer_reconnects() {
    let lab = Lab::new("iigcc");
    lab.ok(0, "ingstart", &[]);
    assert!(lab
        .ok(0, "ingstart", &[])
        .stdout
        .contains("already running"));
    let node = lab.node(0);
    let mut raw = TcpStream::connect((node.addr.as_str(), node.db_port)).unwrap();
    raw.write_all(b"PING\n").unwrap();
    let mut reader = BufReader::new(raw.try_clone().unwrap());
    let mut pong = String::new();
    reader.read_line(&mut pong).unwrap();
    assert_eq!(pong, "PONG bc1\n");

    let stop_file = lab.root.join("stop-writer");
    let acked = lab.root.join("acked-w");
    let port = node.db_port.to_string();
    let writer = Command::new(lab.bin.join("hvrsimclient"))
        .args([
            "write",
            "--host",
            &node.addr,
            "--port",
            &port,
            "--prefix",
            "w",
            "--interval-ms",
            "20",
        ])
        .args([
            "--stop-file",
            &path_str(&stop_file),
            "--acked-log",
            &path_str(&acked),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let bounce = lab.ok(0, "ingstop", &["-iigcc"]);
    assert!(
        bounce.stdout.contains("client connections broken"),
        "{}",
        bounce.stdout
    );
    let mut rest = Vec::new();
    let read = raw.read_to_end(&mut rest);
    assert!(
        read.is_err() || rest.is_empty(),
        "the connected client still got {rest:?}"
    );
    assert_eq!(lab.client(0, &["ping"]).code, 1, "the port must be closed");
    std::thread::sleep(Duration::from_millis(700));
    lab.ok(0, "ingstart", &["-iigcc"]);
    assert_eq!(lab.client(0, &["ping"]).ok().stdout.trim(), "bc1");
    std::thread::sleep(Duration::from_millis(500));
    fs::write(&stop_file, "").unwrap();

    let output = writer.wait_with_output().unwrap();
    assert!(output.status.success());
    let summary = String::from_utf8(output.stdout).unwrap();
    let number = |key: &str| field(&summary, key).unwrap().parse::<u64>().unwrap();
    assert!(number("connects") >= 2, "{summary}");
    assert!(number("max_gap_ms") >= 700, "{summary}");
    assert!(number("in_doubt") <= 1, "{summary}");
    assert_eq!(field(&summary, "servers").unwrap(), "bc1");
    let logged = fs::read_to_string(&acked).unwrap().lines().count() as u64;
    assert_eq!(logged, number("acked"));
    let verify = lab
        .client(0, &["verify", "--acked-log", &path_str(&acked)])
        .ok();
    assert!(verify.stdout.contains("missing=0"), "{}", verify.stdout);

    // The data survives a DBMS restart.
    let rows = lab.count(0);
    lab.ok(0, "ingstop", &[]);
    assert_eq!(lab.run(0, "ingstatus", &[]).code, 1);
    lab.ok(0, "ingstop", &["-iigcc"]); // nothing running: not an error
    lab.ok(0, "ingstart", &[]);
    assert!(lab.ok(0, "ingstatus", &[]).stdout.contains("iigcc=open"));
    assert_eq!(lab.count(0), rows);
}

#[test]
fn testlistener_answers_only_for_hvr_servers() {
    let lab = Lab::new("testlistener");
    lab.start_node(0);
    let node = lab.node(0);
    let port = node.listener_port.to_string();
    let up = lab.ok(1, "hvrtestlistener", &["-t2", &node.addr, &port]);
    assert!(up.stdout.contains("HVRSIM-LISTENER"), "{}", up.stdout);
    assert!(lab
        .ok(0, "hvrremotelistener", &["-d", &port])
        .stdout
        .contains("already running"));

    // Nothing listens on bc2's address.
    let other = lab.node(1).addr.clone();
    let refused = lab.run(0, "hvrtestlistener", &["-t2", &other, &port]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stdout.contains("no HVR server answers"),
        "{}",
        refused.stdout
    );

    // The DBMS port answers TCP but is not an HVR server.
    let db_port = node.db_port.to_string();
    let silent = lab.run(0, "hvrtestlistener", &["-t0.3", &node.addr, &db_port]);
    assert_eq!(silent.code, 1);
    assert!(silent.stdout.contains("no greeting"), "{}", silent.stdout);

    lab.ok(0, "hvrremotelistener", &["-k", &port]);
    assert_eq!(
        lab.run(1, "hvrtestlistener", &["-t1", &node.addr, &port])
            .code,
        1
    );
    let usage = lab.run(0, "hvrtestlistener", &["onlyone"]);
    assert_eq!(usage.code, 2);
}

/// Sets a file's modification time `age` into the past.
fn age_file(path: &std::path::Path, age: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn logrelease_keeps_what_capture_needs_and_honours_the_expiry() {
    let mut lab = Lab::new("logrelease");
    lab.set_env(0, "HVRSIM_JOURNAL_SEGMENT_RECORDS", "5");
    lab.ok(0, "ingstart", &[]);
    lab.write_rows(0, "l", 12);
    lab.ok(0, "hvrinit", &[HUB, CHANNEL]); // capture position 12
    lab.write_rows(0, "m", 11); // records 13..23
    let journal = lab.node(0).config.join("simdb/journal");
    let segments = || -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&journal)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".jnl"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(segments().len(), 5, "{:?}", segments());

    let plain = lab.root.join("logrelease.opt");
    fs::write(&plain, "-ingres_db=sim\n").unwrap();
    let run = lab.ok(0, "hvrlogrelease", &[&path_str(&plain)]);
    // Segments 1-5 and 6-10 end before the capture position; 11-15 holds records it needs.
    assert!(
        run.stdout
            .contains("released 2 journal segments (records 1..10)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("still needed by capture (hubdb/orders at record 12)"),
        "{}",
        run.stdout
    );
    assert_eq!(segments().first().unwrap(), &format!("j{:020}.jnl", 11));

    // A capture that has not run for two hours pins nothing once it is older than the expiry.
    age_file(
        &lab.node(0).config.join("router/hubdb/orders/capture.state"),
        Duration::from_secs(7200),
    );
    let run = lab.ok(0, "hvrlogrelease", &[&path_str(&plain)]);
    assert!(
        run.stdout.contains("released 0 journal segments"),
        "{}",
        run.stdout
    );
    let expiring = lab.root.join("expire.opt");
    fs::write(&expiring, "-logrelease_expire=1h\n").unwrap();
    let run = lab.ok(0, "hvrlogrelease", &[&path_str(&expiring)]);
    assert!(
        run.stdout
            .contains("ignoring capture position hubdb/orders"),
        "{}",
        run.stdout
    );
    // Up to the snapshot (record 20); the segment being written (21..) is never released.
    assert!(
        run.stdout
            .contains("released 2 journal segments (records 11..20)"),
        "{}",
        run.stdout
    );
    assert_eq!(segments(), vec![format!("j{:020}.jnl", 21)]);

    // The database still recovers fully from its snapshot.
    lab.ok(0, "ingstop", &[]);
    lab.ok(0, "ingstart", &[]);
    assert_eq!(lab.count(0), 23);

    // The stale capture needed local changes that are gone: it stops and asks for hvrinit.
    lab.start_node(1);
    lab.start_scheduler(0);
    wait_for("the capture error", Duration::from_secs(5), || {
        lab.hvr_out(0).contains("F_JSIM10: capture failed")
    });
    assert!(lab.hvr_out(0).contains("run hvrinit"));
    lab.ok(0, "hvrscheduler", &["-k", HUB]);
    lab.ok(0, "hvrinit", &[HUB, CHANNEL]);
    lab.start_scheduler(0);
    lab.write_rows(0, "r", 2);
    lab.flush(0);
    lab.ok(0, "hvrscheduler", &["-k", HUB]);
    assert_eq!(lab.count(1), 2);
}

#[test]
fn hvrmaint_scans_archives_and_tests_the_scheduler() {
    let mut lab = Lab::new("maint");
    lab.set_env(0, "HVRSIM_LAG_MS", "0");
    lab.start_node(0); // bc2 stays down: integration fails and logs an error
    lab.ok(0, "hvrscheduler", &[HUB]);
    lab.write_rows(0, "e", 1);
    wait_for("the integrate error", Duration::from_secs(5), || {
        lab.hvr_out(0).contains("F_JSIM20")
    });

    let opt = lab.root.join("hvrmaint.opt");
    fs::write(
        &opt,
        "-hub=hubdb\n-scan_hvr_out -test_scheduler\n-email_to=ops@example.com\n",
    )
    .unwrap();
    let first = lab.run(0, "hvrmaint", &[&path_str(&opt)]);
    assert_eq!(
        first.code, 1,
        "errors found must be reported: {}",
        first.stdout
    );
    assert!(
        first.stdout.contains("1 new error lines"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("F_JSIM20"), "{}", first.stdout);
    assert!(
        first.stdout.contains("-email_to is not simulated"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("answers on port"), "{}", first.stdout);
    let second = lab.run(0, "hvrmaint", &[&path_str(&opt)]);
    assert_eq!(second.code, 0, "no new errors: {}", second.stdout);
    assert!(second.stdout.contains("0 new error lines"));

    let archive = lab.root.join("archive.opt");
    fs::write(&archive, "hubdb -archive_files=1\n").unwrap();
    lab.ok(0, "hvrmaint", &[&path_str(&archive)]);
    let archive_dir = lab.node(0).config.join("log/hubdb/archive");
    assert_eq!(fs::read_dir(&archive_dir).unwrap().count(), 1);
    std::thread::sleep(Duration::from_millis(1100)); // archive names have second resolution
    lab.ok(0, "hvrmaint", &[&path_str(&archive)]);
    assert_eq!(
        fs::read_dir(&archive_dir).unwrap().count(),
        1,
        "only the newest archive is kept"
    );
    assert!(lab.hvr_out(0).contains("hvrmaint (simulator) ran"));

    // Stopped scheduler: a problem, unless hvrfailover says this node is the standby.
    lab.kill(lab.scheduler_pid(0), "-TERM");
    let test = lab.root.join("test.opt");
    fs::write(&test, "-hub=hubdb -test_scheduler\n").unwrap();
    assert_eq!(lab.run(0, "hvrmaint", &[&path_str(&test)]).code, 1);
    fs::write(lab.node(0).config.join("files/hvrfailover.state"), "STOP\n").unwrap();
    let standby = lab.ok(0, "hvrmaint", &[&path_str(&test)]);
    assert!(
        standby.stdout.contains("as expected on a standby node"),
        "{}",
        standby.stdout
    );
}

#[test]
fn catalog_check_detects_drift_and_naming_errors() {
    let lab = Lab::new("catalog");
    let one = lab.ok(0, "hvrsim", &["catalog", "check", HUB]);
    let two = lab.ok(1, "hvrsim", &["catalog", "check", HUB]);
    assert_eq!(
        one.stdout, two.stdout,
        "mirrored hubs must print the same canonical form"
    );
    assert!(one
        .stdout
        .contains("channel orders capture=db<self> integrate=db<peer>"));
    fs::write(
        lab.node(1).config.join("hubs/hubdb/channels/orders.chn"),
        "capture=db2\nintegrate=db1\nintegrate=db2x\n",
    )
    .unwrap();
    fs::write(
        lab.node(1).config.join("hubs/hubdb/locations/db2x.loc"),
        "node=127.0.0.9\n",
    )
    .unwrap();
    let drifted = lab.run(1, "hvrsim", &["catalog", "check", HUB]);
    assert_eq!(drifted.code, 1);
    assert!(
        drifted
            .stderr
            .contains("integrate location db2x must end with 1 or 2"),
        "{}",
        drifted.stderr
    );
    assert_ne!(drifted.stdout, one.stdout);
}

#[test]
fn dispatches_on_its_name_and_says_it_is_a_simulator() {
    let lab = Lab::new("dispatch");
    let help = lab.ok(0, "hvrscheduler", &["--help"]);
    assert!(help.stdout.contains("HVR simulator"));
    let via_hvrsim = lab.ok(0, "hvrsim", &["hvrcompare", "--help"]);
    assert!(via_hvrsim.stdout.starts_with("Usage: hvrcompare"));
    let overview = lab.ok(0, "hvrsim", &["--help"]);
    assert!(overview.stdout.contains("NOT HVR"));
    assert_eq!(lab.run(0, "hvrsim", &["hvrnothing"]).code, 2);
    let no_config = Command::new(lab.bin.join("hvrinit"))
        .args([HUB, CHANNEL])
        .env_remove("HVR_CONFIG")
        .output()
        .unwrap();
    assert_eq!(no_config.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_config.stderr).contains("HVR_CONFIG is not set"));
    let bad_hub = lab.run(0, "hvrscheduler", &["nohub"]);
    assert_eq!(bad_hub.code, 2);
    assert!(bad_hub.stderr.contains("not found"), "{}", bad_hub.stderr);
}

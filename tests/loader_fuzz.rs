//! Property tests for the loader: whatever bytes arrive, loading a playbook
//! or an inventory ends in a value or an error that names a place, never a
//! panic.

use std::path::Path;

use baton::load::playbook;
use baton::source::SourceFile;
use baton::yaml::parse;
use proptest::prelude::*;

const VALID: &str = r#"- name: switchover
  hosts: bc
  serial: 1
  vars:
    hvr_hubdb: hub
  tasks:
    - name: check
      command: /bin/true
      register: out
      when: hvr_hubdb == "hub"
    - block:
        - file: path=/tmp/x state=directory
      rescue:
        - debug: msg=failed
  handlers:
    - name: restart
      command: /bin/true
"#;

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("- ".to_string()),
            Just(": ".to_string()),
            Just("\n".to_string()),
            Just("  ".to_string()),
            Just("hosts".to_string()),
            Just("tasks".to_string()),
            Just("block".to_string()),
            Just("command".to_string()),
            Just("loop".to_string()),
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("&a".to_string()),
            Just("*a".to_string()),
            Just("<<".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("#".to_string()),
            "[a-z_]{1,8}",
            "[ -~]{0,6}",
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text_never_panics(text in fragments()) {
        let _ = parse(&SourceFile::new("fuzz.yml", text.clone()));
        if let Err(e) = playbook::load_text("fuzz.yml", text, Path::new(".")) {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn mutated_valid_playbook_never_panics(cut in 0usize..VALID.len(), insert in fragments()) {
        let mut text = VALID.to_string();
        let at = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        if let Err(e) = playbook::load_text("fuzz.yml", text, Path::new(".")) {
            prop_assert!(!e.message.is_empty());
            prop_assert!(e.location.is_some() || e.src.is_none());
        }
    }

    #[test]
    fn random_inventory_never_panics(text in fragments()) {
        let dir = tempfile::tempdir().unwrap();
        let yml = dir.path().join("inv.yml");
        std::fs::write(&yml, &text).unwrap();
        let _ = baton::load::inventory::Inventory::load(&[yml]);
        let ini = dir.path().join("inv.ini");
        std::fs::write(&ini, text.replace(": ", "=")).unwrap();
        let _ = baton::load::inventory::Inventory::load(&[ini]);
    }
}

/// Deep nesting, aliases and hostile numbers, each run as `baton run
/// --syntax-check` in a child process under a memory limit and a timeout:
/// the exit must be 0 or 4, never a signal (stack overflow, abort), a panic
/// (101) or a hang.
mod child {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    const MEMORY_LIMIT: u64 = 1 << 30;
    const TIMEOUT: Duration = Duration::from_secs(20);

    /// The exit code, or a description of what went wrong.
    fn syntax_check(text: &str) -> Result<i32, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("case.yml");
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
        cmd.args(["run", "--syntax-check"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: MEMORY_LIMIT,
                    rlim_max: MEMORY_LIMIT,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                use std::os::unix::process::ExitStatusExt;
                return match (status.code(), status.signal()) {
                    (Some(code), _) => Ok(code),
                    (None, Some(sig)) => Err(format!("killed by signal {sig}")),
                    (None, None) => Err("ended without a code".into()),
                };
            }
            if started.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn nesting() -> impl Strategy<Value = String> {
        (1usize..60_000, 0usize..4).prop_map(|(depth, style)| match style {
            0 => format!("{}1\n", "- ".repeat(depth)),
            1 => format!("{}{}\n", "[".repeat(depth), "]".repeat(depth)),
            2 => format!("x: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth)),
            _ => format!("{}a\n", "? ".repeat(depth)),
        })
    }

    fn aliases() -> impl Strategy<Value = String> {
        (1usize..14, 1usize..12).prop_map(|(levels, width)| {
            let mut text = format!(
                "- hosts: localhost\n  vars:\n    l0: &l0 [{}]\n",
                vec!["x"; width].join(",")
            );
            for i in 1..levels {
                let refs = vec![format!("*l{}", i - 1); width].join(",");
                text.push_str(&format!("    l{i}: &l{i} [{refs}]\n"));
            }
            text.push_str("  tasks: []\n");
            text
        })
    }

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(".nan".to_string()),
            Just(".inf".to_string()),
            Just("-.inf".to_string()),
            Just("18446744073709551615".to_string()),
            any::<f64>().prop_map(|f| format!("{f:e}")),
            any::<i64>().prop_map(|i| i.to_string()),
            (-5.0f64..5.0).prop_map(|f| f.to_string()),
        ]
    }

    fn numbers() -> impl Strategy<Value = String> {
        (number(), 0usize..8).prop_map(|(n, field)| {
            let task = match field {
                0 => format!("pause: {{seconds: {n}}}"),
                1 => format!("pause: {{minutes: {n}}}"),
                2 => format!("command: 'true'\n      until: false\n      delay: {n}"),
                3 => format!("command: 'true'\n      until: false\n      retries: {n}"),
                4 => {
                    format!("debug: msg=x\n      loop: [1, 2]\n      loop_control: {{pause: {n}}}")
                }
                5 => format!("command: 'true'\n      timeout: {n}"),
                6 => format!("wait_for: {{port: 22, timeout: {n}}}"),
                _ => return format!("- hosts: localhost\n  serial: {n}\n  tasks: []\n"),
            };
            format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - {task}\n")
        })
    }

    proptest! {
        // Modest counts: each case is a process start (debug build).
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn deep_nesting_ends_in_0_or_4(text in nesting()) {
            let code = syntax_check(&text);
            prop_assert!(matches!(code, Ok(0) | Ok(4)), "{code:?} for {} bytes", text.len());
        }

        #[test]
        fn aliases_end_in_0_or_4(text in aliases()) {
            let code = syntax_check(&text);
            prop_assert!(matches!(code, Ok(0) | Ok(4)), "{code:?} for\n{text}");
        }

        #[test]
        fn numbers_in_duration_and_count_fields_end_in_0_or_4(text in numbers()) {
            let code = syntax_check(&text);
            prop_assert!(matches!(code, Ok(0) | Ok(4)), "{code:?} for\n{text}");
        }
    }
}

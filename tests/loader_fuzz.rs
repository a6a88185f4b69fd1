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

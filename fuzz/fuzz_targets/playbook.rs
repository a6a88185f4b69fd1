//! Any bytes as a playbook: load and compile must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let loaded = baton::load::playbook::load_text(
            "fuzz.yml",
            text.to_string(),
            std::path::Path::new("."),
        );
        if let Ok(playbook) = loaded {
            let _ = baton::plan::compile::check_playbook(&playbook);
        }
    }
});

//! Any text as a template: the load-time check and rendering must return,
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let origin = baton::source::Origin::synthetic("fuzz", text);
        if baton::plan::template::check_template(text, &origin).is_ok() {
            let vars = serde_json::json!({"a": 1, "b": [1, "x"], "c": {"d": true}});
            let _ = baton::plan::template::Templater::new().render_str(text, &vars, &origin);
        }
    }
});

//! `slurp`: read a file on the host and return it base64-encoded, as
//! Ansible's `ansible.builtin.slurp` does (`content`, `encoding: base64`,
//! `source`). It never changes anything, so it is always ok, in check mode
//! too. Errors use Ansible's wording: "file not found", "file is not
//! readable", "source is a directory and must be a file".
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Slurp;

static SPEC: ModuleSpec = ModuleSpec {
    name: "slurp",
    args: &[ArgSpec::required("src").aliases(&["path"])],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Slurp {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let src = r.required_path("src")?;
        let mut s = prelude(ctx.nonce);
        s.push_str(&format!("_p={}\n", shell::quote(&src)));
        s.push_str(
            r#"[ -e "$_p" ] || _fail missing
[ ! -d "$_p" ] || _fail isdir
[ -r "$_p" ] || _fail read
"#,
        );
        s.push_str(&super::regular_file_check());
        s.push_str(
            r#"_b begin content
base64 < "$_p" || _fail read
_b end content
_b done 1
"#,
        );
        let nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                Step::Done(interpret(&Answer::parse(out, &nonce), &src))
            }),
        })
    }
}

fn interpret(answer: &Answer, src: &str) -> TaskResult {
    if let Some(msg) = super::regular_file_failure(answer, "slurp", src) {
        return answer.failed_with(msg);
    }
    match answer.failure() {
        Some("missing") => return answer.failed_with(format!("file not found: {src}")),
        Some("isdir") => {
            return answer.failed_with(format!("source is a directory and must be a file: {src}"))
        }
        Some("read") => return answer.failed_with(format!("file is not readable: {src}")),
        Some(other) => return answer.failed_with(format!("{src}: the host reported `{other}`")),
        None => {}
    }
    if answer.get("done") != Some("1") {
        return answer.unexpected();
    }
    let Some(block) = answer.block("content") else {
        return answer.unexpected();
    };
    // Re-encoded without line breaks, as Python's base64.b64encode gives it;
    // decoding first also proves the host's base64 output was whole.
    let Some(bytes) = answer.block_bytes("content") else {
        return answer.failed_with(format!(
            "the host's base64 output for {src} does not decode ({} bytes)",
            block.len()
        ));
    };
    use base64::Engine;
    let mut result = TaskResult::ok();
    result.data.insert(
        "content".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    result
        .data
        .insert("encoding".into(), Value::String("base64".into()));
    result
        .data
        .insert("source".into(), Value::String(src.to_string()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn returns_the_content_base64_and_is_ok_in_check_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pid");
        // Long enough for base64(1) to wrap its lines, with binary bytes.
        let data: Vec<u8> = (0..200u8).chain([0, 255, b'\n']).collect();
        std::fs::write(&p, &data).unwrap();
        for check in [false, true] {
            let r = run(
                &Slurp,
                json!({"src": p}),
                &Ctx {
                    check,
                    ..Ctx::default()
                },
            );
            assert_eq!(r.status, Status::Ok, "{r:?}");
            use base64::Engine;
            let content = r.data["content"].as_str().unwrap();
            assert!(!content.contains('\n'));
            assert_eq!(
                base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .unwrap(),
                data
            );
            assert_eq!(r.data["encoding"], "base64");
            assert_eq!(r.data["source"], p.to_str().unwrap());
        }
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        let r = run(&Slurp, json!({"path": empty}), &Ctx::default());
        assert_eq!(r.data["content"], "");
    }

    #[test]
    fn devices_pipes_and_huge_files_are_refused_by_kind_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(&Slurp, json!({"src": "/dev/zero"}), &Ctx::default());
        assert_eq!(r.status, Status::Failed, "{r:?}");
        let msg = r.msg.unwrap();
        assert!(msg.contains("/dev/zero is a character device"), "{msg}");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let r = run(&Slurp, json!({"src": fifo}), &Ctx::default());
        assert!(r.msg.unwrap().contains("is a named pipe (FIFO)"));
        // a sparse file over the limit: its size is refused before reading
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(super::super::MAX_READ_BYTES + 1)
            .unwrap();
        let r = run(&Slurp, json!({"src": big}), &Ctx::default());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("is 12582913 bytes; slurp carries at most 12 MiB"),
            "{msg}"
        );
    }

    #[test]
    fn failure_modes_use_ansibles_words() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &Slurp,
            json!({"src": dir.path().join("none")}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().starts_with("file not found: "));
        let r = run(&Slurp, json!({"src": dir.path()}), &Ctx::default());
        assert!(r
            .msg
            .unwrap()
            .starts_with("source is a directory and must be a file"));
        assert!(prepare_error(&Slurp, json!({})).contains("`src`"));
        let canned = crate::transport::ExecOutput {
            code: Some(0),
            stdout: "__baton_n begin content\n!!!\n__baton_n end content\n__baton_n done 1\n"
                .into(),
            stderr: String::new(),
        };
        assert!(interpret(&Answer::parse(&canned, "n"), "/x")
            .msg
            .unwrap()
            .contains("does not decode"));
    }
}

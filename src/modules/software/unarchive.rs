//! `unarchive`: unpack a tar.gz, tar.xz, tar.bz2, tar or zip archive into an
//! existing directory, as Ansible's `ansible.builtin.unarchive`.
//!
//! Idempotence as Ansible's: the archive is first unpacked into a scratch
//! directory on the host and each member compared with `dest` (type,
//! content, link target, and mode when `mode` is not given); the task
//! changes only when a member is missing or different, or when
//! owner/group/mode must be fixed. The members are listed first: one with
//! an absolute path or a `..` component fails the task before anything is
//! unpacked, even into the scratch directory (Ansible fails such a member). With `remote_src: no` (the default) the
//! archive travels from the controller inside the script, as `copy` sends a
//! file (base64, up to [`MAX_ARCHIVE`]).
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::files::copy::find_source;
use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::{self, Attrs, FILE_LIB};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Unarchive;

/// Largest controller-side archive sent inside a script.
pub(crate) const MAX_ARCHIVE: u64 = 64 * 1024 * 1024;

static SPEC: ModuleSpec = ModuleSpec {
    name: "unarchive",
    args: &[
        ArgSpec::required("src"),
        ArgSpec::required("dest"),
        ArgSpec::optional("remote_src"),
        ArgSpec::optional("creates"),
        ArgSpec::optional("extra_opts"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("list_files"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: Some("files"),
};

/// The script's body after the variables: detect the format, unpack into a
/// scratch directory, compare, unpack into `dest` when something differs,
/// then fix attributes of every member.
const BODY: &str = r#"[ -d "$_dest" ] || _fail nodest
if [ -n "$_cr" ] && [ -e "$_cr" ]; then _b done creates; exit 0; fi
_w=$(mktemp -d "${TMPDIR:-/tmp}/.baton-unarchive.XXXXXX") || _fail tmp
trap 'rm -rf -- "$_w"' EXIT
if [ "$_rs" = 1 ]; then
  [ -f "$_src" ] || _fail nosrc
  _a=$_src
else
  _a="$_w/archive"
  _upload > "$_a" || _fail upload
fi
command -v od >/dev/null 2>&1 || _fail no_od
_mg=$(od -An -tx1 -N6 -- "$_a" | tr -d ' \n') || _fail read
case $_mg in
  1f8b*) _k=gz _z=-z _t=gzip ;;
  fd377a585a00) _k=xz _z=-J _t=xz ;;
  425a68*) _k=bz2 _z=-j _t=bzip2 ;;
  504b0304*|504b0506*) _k=zip _z= _t=unzip ;;
  *) if [ "$(dd if="$_a" bs=1 skip=257 count=5 2>/dev/null)" = ustar ]; then _k=tar _z= _t=tar; else _fail format; fi ;;
esac
_b handler "$_k"
command -v "$_t" >/dev/null 2>&1 || _fail "no_$_t"
[ "$_k" = zip ] || command -v tar >/dev/null 2>&1 || _fail no_tar
if [ "$_k" = zip ]; then unzip -Z1 "$_a" </dev/null; else tar -t $_z -f "$_a"; fi > "$_w/members" || _fail list
_bad=$(tr '\\' / < "$_w/members" | while IFS= read -r _m; do
  case $_m in /*|..|../*|*/..|*/../*) printf '%s\n' "$_m"; break ;; esac
done)
if [ -n "$_bad" ]; then _b member "$_bad"; _fail unsafe; fi
mkdir "$_w/x" || _fail tmp
_unpack "$_w/x" >&2 || _fail extract
if [ "$_lf" = 1 ]; then
  _b begin files
  cat -- "$_w/members"
  _b end files
fi
(cd "$_w/x" && find . ! -name . -print) > "$_w/list" || _fail tmp
_dif=0
while IFS= read -r _f; do
  _f=${_f#./}; _n="$_w/x/$_f"; _o="$_dest/$_f"
  if [ -L "$_n" ]; then
    [ -L "$_o" ] && [ "$(readlink -- "$_o")" = "$(readlink -- "$_n")" ] || { _dif=1; break; }
  elif [ -d "$_n" ]; then
    [ -d "$_o" ] || { _dif=1; break; }
  else
    [ -f "$_o" ] && [ ! -L "$_o" ] && cmp -s -- "$_n" "$_o" || { _dif=1; break; }
    if [ -z "$_mo" ] && [ "$(stat -c %a -- "$_n")" != "$(stat -c %a -- "$_o")" ]; then _dif=1; break; fi
  fi
done < "$_w/list"
_b differs "$_dif"
if [ "$_dif" = 1 ] && [ "$_ck" != 1 ]; then _unpack "$_dest" >&2 || _fail extract; fi
if [ -n "$_mo$_ow$_gr" ]; then
  while IFS= read -r _f; do
    _f=${_f#./}; _o="$_dest/$_f"
    [ -e "$_o" ] || [ -L "$_o" ] || continue
    if [ -L "$_o" ]; then _nf=1; else _nf=; fi
    _stat "$_o" || _fail stat
    _attrs "$_o" "$_mo" "$_ow" "$_gr"
  done < "$_w/list"
fi
_b attrs "$_ac"
_b done ran
"#;

impl Module for Unarchive {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let src = r.required_path("src")?;
        let dest = r.required_path("dest")?;
        let remote_src = r.bool("remote_src", false)?;
        let attrs = Attrs::from_args(&r)?;
        let creates = r.path("creates")?;
        let list_files = r.bool("list_files", false)?;
        let extra_opts = extra_opts(&r)?;
        if src.contains("://") {
            return Err(ModuleError::Args(format!(
                "`src` {src} is a URL; baton's unarchive does not download: fetch it with `get_url` first and give `remote_src: yes`"
            )));
        }
        let mut s = prelude(ctx.nonce);
        s.push_str(FILE_LIB);
        s.push_str(&format!(
            "_ck={} _ac=0 _rs={} _lf={}\n_dest={} _src={} _cr={}\n",
            u8::from(ctx.check_mode),
            u8::from(remote_src),
            u8::from(list_files),
            shell::quote(match dest.trim_end_matches('/') {
                "" => "/",
                trimmed => trimmed,
            }),
            shell::quote(&src),
            shell::quote(creates.as_deref().unwrap_or_default()),
        ));
        s.push_str(&attrs.assignments());
        let mut data = serde_json::Map::new();
        data.insert("dest".into(), Value::String(dest.clone()));
        if remote_src {
            data.insert("src".into(), Value::String(src.clone()));
            s.push_str("_upload() { :; }\n");
        } else {
            let path = find_source(&src, ctx.search_paths, &SPEC)?;
            let size = std::fs::metadata(&path)
                .map_err(|e| {
                    ModuleError::Controller(format!("cannot read src {}: {e}", path.display()))
                })?
                .len();
            if size > MAX_ARCHIVE {
                return Err(ModuleError::Controller(format!(
                    "src {} is {size} bytes, over the {} MiB baton sends inside a script; copy it to the host first and give `remote_src: yes`",
                    path.display(),
                    MAX_ARCHIVE / 1024 / 1024
                )));
            }
            let bytes = std::fs::read(&path).map_err(|e| {
                ModuleError::Controller(format!("cannot read src {}: {e}", path.display()))
            })?;
            use base64::Engine;
            s.push_str(&format!(
                "_upload() {{ printf '%s' '{}' | base64 -d; }}\n",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            ));
            data.insert("src".into(), Value::String(path.display().to_string()));
        }
        // `unzip -q -o ARCHIVE OPTS -d DIR` / `tar -x -C DIR -z -f ARCHIVE OPTS`,
        // extra_opts where Ansible puts them.
        let opts: Vec<String> = extra_opts.iter().map(|o| shell::quote(o)).collect();
        s.push_str(&format!(
            "_unpack() {{ if [ \"$_k\" = zip ]; then unzip -q -o {o} \"$_a\" -d \"$1\" </dev/null; else tar -x -C \"$1\" $_z -f \"$_a\" {o}; fi; }}\n",
            o = opts.join(" ")
        ));
        s.push_str(BODY);
        let nonce = ctx.nonce.to_string();
        let check = ctx.check_mode;
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                Step::Done(interpret(
                    out,
                    &nonce,
                    &dest,
                    &src,
                    check,
                    creates.as_deref(),
                    data,
                ))
            }),
        })
    }
}

fn extra_opts(r: &ArgReader<'_>) -> Result<Vec<String>, ModuleError> {
    match r.value("extra_opts") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => shlex::split(s).ok_or_else(|| {
            ModuleError::Args(format!(
                "argument `extra_opts`: unbalanced quote in `{s}`; give a list of options"
            ))
        }),
        Some(_) => Ok(r.string_list("extra_opts")?.unwrap_or_default()),
    }
}

fn interpret(
    out: &crate::transport::ExecOutput,
    nonce: &str,
    dest: &str,
    src: &str,
    check: bool,
    creates: Option<&str>,
    mut data: serde_json::Map<String, Value>,
) -> TaskResult {
    let answer = Answer::parse(out, nonce);
    if let Some(code) = answer.failure() {
        let msg = match code {
            "nodest" => format!("destination directory {dest} does not exist on the host; create it first (file state=directory)"),
            "nosrc" => format!("source {src} does not exist on the host (remote_src: yes reads it there)"),
            "upload" => format!("cannot write the archive {src} to a temporary file on the host"),
            "format" => format!("{src} is not a tar, tar.gz, tar.xz, tar.bz2 or zip archive (unrecognised first bytes)"),
            "extract" => format!("unpacking {src} failed"),
            "list" => format!("listing the members of {src} failed"),
            "tmp" => "cannot create a scratch directory on the host (mktemp -d)".to_string(),
            // As Ansible's unarchive, which fails on a member outside dest.
            "unsafe" => format!(
                "archive {src} has a member with an absolute path or a `..` component: `{}`; refusing to unpack it (nothing was written to {dest})",
                answer.get("member").unwrap_or("?")
            ),
            tool if tool.starts_with("no_") => {
                format!("{} not found on host; install it to unpack {src}", &tool[3..])
            }
            other => fileops::failure_message(other, dest),
        };
        return answer.failed_with(msg);
    }
    let mut result = match answer.get("done") {
        Some("creates") => {
            // Ansible's wording and status for `creates`.
            let mut r = TaskResult::skipped(format!(
                "skipped, since {} exists",
                creates.unwrap_or_default()
            ));
            r.data = data;
            return r;
        }
        Some("ran") if answer.flag("differs") || answer.flag("attrs") => TaskResult::changed(),
        Some("ran") => TaskResult::ok(),
        _ => return answer.unexpected(),
    };
    if check && result.is_changed() {
        result.msg = Some(format!("check mode: {src} would be unpacked into {dest}"));
    }
    if let Some(h) = answer.get("handler") {
        let name = if h == "zip" {
            "ZipArchive"
        } else {
            "TgzArchive"
        };
        data.insert("handler".into(), Value::String(name.into()));
    }
    if let Some(files) = answer.block("files") {
        let list: Vec<Value> = files
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| Value::String(l.to_string()))
            .collect();
        data.insert("files".into(), Value::Array(list));
    }
    result.data = data;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, run_with_env, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::path::Path;
    use std::process::Command;

    /// A source tree `top/a.txt`, `top/sub/b.sh` (0755) and a link.
    fn tree(dir: &Path) {
        let top = dir.join("top");
        std::fs::create_dir_all(top.join("sub")).unwrap();
        std::fs::write(top.join("a.txt"), "alpha\n").unwrap();
        std::fs::write(top.join("sub/b.sh"), "#!/bin/sh\necho b\n").unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(top.join("sub/b.sh"))
            .status()
            .unwrap();
        std::os::unix::fs::symlink("a.txt", top.join("link")).unwrap();
    }

    fn make(dir: &Path, kind: &str) -> std::path::PathBuf {
        tree(dir);
        let (name, ok) = match kind {
            "zip" => (
                "t.zip",
                Command::new("zip")
                    .current_dir(dir)
                    .args(["-qry", "t.zip", "top"])
                    .status(),
            ),
            "xz" => (
                "t.tar.xz",
                Command::new("tar")
                    .current_dir(dir)
                    .args(["-cJf", "t.tar.xz", "top"])
                    .status(),
            ),
            _ => (
                "t.tar.gz",
                Command::new("tar")
                    .current_dir(dir)
                    .args(["-czf", "t.tar.gz", "top"])
                    .status(),
            ),
        };
        assert!(ok.unwrap().success(), "cannot build {name}");
        dir.join(name)
    }

    fn three_runs(kind: &str) {
        let work = tempfile::tempdir().unwrap();
        let archive = if kind == "zip" {
            make_zip(work.path())
        } else {
            make(work.path(), kind)
        };
        let dest = tempfile::tempdir().unwrap();
        let args = json!({"src": archive, "dest": dest.path(), "list_files": true});
        let dry = run(
            &Unarchive,
            args.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{kind} check: {dry:?}");
        assert_eq!(
            std::fs::read_dir(dest.path()).unwrap().count(),
            0,
            "check mode unpacked"
        );
        let first = run(&Unarchive, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{kind} first: {first:?}");
        assert_eq!(
            std::fs::read_to_string(dest.path().join("top/a.txt")).unwrap(),
            "alpha\n"
        );
        assert!(first.data["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().ends_with("sub/b.sh")));
        let second = run(&Unarchive, args.clone(), &Ctx::default());
        assert_eq!(second.status, Status::Ok, "{kind} second: {second:?}");
        // A member changed on the host: unpacked again.
        std::fs::write(dest.path().join("top/sub/b.sh"), "tampered\n").unwrap();
        let third = run(&Unarchive, args.clone(), &Ctx::default());
        assert_eq!(
            third.status,
            Status::Changed,
            "{kind} after tamper: {third:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dest.path().join("top/sub/b.sh")).unwrap(),
            "#!/bin/sh\necho b\n"
        );
        // Extra files in dest do not count, as in Ansible.
        std::fs::write(dest.path().join("top/extra"), "x").unwrap();
        assert_eq!(run(&Unarchive, args, &Ctx::default()).status, Status::Ok);
    }

    fn make_zip(dir: &Path) -> std::path::PathBuf {
        tree(dir);
        if Command::new("zip")
            .arg("-v")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
        {
            assert!(Command::new("zip")
                .current_dir(dir)
                .args(["-qry", "t.zip", "top"])
                .status()
                .unwrap()
                .success());
        } else {
            let ok = Command::new("python3")
                .current_dir(dir)
                .args(["-c", "import zipfile,os\nz=zipfile.ZipFile('t.zip','w')\nfor d,_,fs in os.walk('top'):\n  z.write(d)\n  for f in fs:\n    p=os.path.join(d,f)\n    if os.path.islink(p):\n      i=zipfile.ZipInfo(p); i.external_attr=(0o120777<<16); z.writestr(i, os.readlink(p))\n    else: z.write(p)\nz.close()"])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        dir.join("t.zip")
    }

    #[test]
    fn tar_gz_unpacks_once_then_is_ok() {
        three_runs("gz");
    }

    #[test]
    fn tar_xz_unpacks_once_then_is_ok() {
        three_runs("xz");
    }

    #[test]
    fn zip_unpacks_once_then_is_ok() {
        three_runs("zip");
    }

    #[test]
    fn remote_src_creates_extra_opts_and_attributes() {
        let work = tempfile::tempdir().unwrap();
        let archive = make(work.path(), "gz");
        let dest = tempfile::tempdir().unwrap();
        let args = json!({
            "src": archive, "remote_src": true, "dest": dest.path(),
            "extra_opts": ["--strip-components=1"], "mode": "u=rwX,g=rX,o=",
        });
        let first = run(&Unarchive, args.clone(), &Ctx::default());
        assert!(first.is_changed(), "{first:?}");
        let a = dest.path().join("a.txt");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "alpha\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            std::fs::metadata(dest.path().join("sub/b.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o750
        );
        assert_eq!(
            run(&Unarchive, args.clone(), &Ctx::default()).status,
            Status::Ok
        );
        // A mode changed by hand is put back (changed), content untouched.
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(run(&Unarchive, args, &Ctx::default()).is_changed());
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let other = tempfile::tempdir().unwrap();
        let flag = other.path().join("done");
        std::fs::write(&flag, "").unwrap();
        let skipped = run(
            &Unarchive,
            json!({"src": archive, "remote_src": "yes", "dest": other.path(), "creates": flag}),
            &Ctx::default(),
        );
        assert_eq!(skipped.status, Status::Skipped, "{skipped:?}");
        assert_eq!(
            skipped.msg,
            Some(format!("skipped, since {} exists", flag.display()))
        );
        assert!(!other.path().join("top").exists());
    }

    #[test]
    fn failures_name_what_is_wrong() {
        let work = tempfile::tempdir().unwrap();
        let archive = make(work.path(), "gz");
        let r = run(
            &Unarchive,
            json!({"src": archive, "dest": work.path().join("nope")}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("does not exist on the host"));
        let r = run(
            &Unarchive,
            json!({"src": work.path().join("missing.tgz"), "remote_src": true, "dest": work.path()}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("missing.tgz does not exist"));
        let junk = work.path().join("junk.tar.gz");
        std::fs::write(&junk, "not an archive at all").unwrap();
        let r = run(
            &Unarchive,
            json!({"src": junk, "dest": work.path()}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("not a tar"), "unrecognised format");
        let err = prepare_error(
            &Unarchive,
            json!({"src": "https://example.com/x.tgz", "dest": "/tmp"}),
        );
        assert!(err.contains("get_url"), "{err}");
        // A truncated archive: the tool's complaint is quoted.
        let bytes = std::fs::read(&archive).unwrap();
        let cut = work.path().join("cut.tar.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let r = run(
            &Unarchive,
            json!({"src": cut, "dest": dest.path()}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        // Members are listed (and checked) before unpacking: the list fails.
        assert!(r.msg.unwrap().contains("listing the members"));
    }

    /// An archive (zip by python3's zipfile, tar by tarfile) with `a.txt`
    /// and the member `name`.
    fn hostile(dir: &Path, kind: &str, name: &str) -> std::path::PathBuf {
        let out = dir.join(if kind == "zip" { "h.zip" } else { "h.tgz" });
        let code = if kind == "zip" {
            "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('a.txt','alpha\\n')\nz.writestr(sys.argv[2],'evil\\n')\nz.close()"
        } else {
            "import sys,tarfile,io\nt=tarfile.open(sys.argv[1],'w:gz')\nfor n,d in (('a.txt',b'alpha\\n'),(sys.argv[2],b'evil\\n')):\n  i=tarfile.TarInfo(n); i.size=len(d); t.addfile(i,io.BytesIO(d))\nt.close()"
        };
        let ok = Command::new("python3")
            .args(["-c", code])
            .arg(&out)
            .arg(name)
            .status()
            .unwrap();
        assert!(ok.success());
        out
    }

    #[test]
    fn a_member_outside_dest_is_refused_before_anything_is_written() {
        let work = tempfile::tempdir().unwrap();
        for kind in ["zip", "tar"] {
            for name in [
                "../evil",
                "sub/../../evil",
                "/tmp/baton-unarchive-abs-evil",
                "..",
            ] {
                let outer = tempfile::tempdir().unwrap();
                let dest = outer.path().join("d");
                std::fs::create_dir(&dest).unwrap();
                let archive = hostile(work.path(), kind, name);
                for check in [true, false] {
                    let r = run(
                        &Unarchive,
                        json!({"src": archive, "dest": dest}),
                        &Ctx {
                            check,
                            ..Ctx::default()
                        },
                    );
                    assert!(r.is_failed(), "{kind} {name}: {r:?}");
                    let msg = r.msg.unwrap();
                    assert!(
                        msg.contains(&format!("`{name}`")) && msg.contains("`..` component"),
                        "{kind} {name}: {msg}"
                    );
                }
                assert_eq!(
                    std::fs::read_dir(&dest).unwrap().count(),
                    0,
                    "{kind} {name}"
                );
                assert!(!outer.path().join("evil").exists(), "{kind} {name}");
            }
        }
        assert!(!Path::new("/tmp/baton-unarchive-abs-evil").exists());
        // `..` inside a name is not a component: unpacked.
        let dest = tempfile::tempdir().unwrap();
        let archive = hostile(work.path(), "zip", "x..y/..z");
        let r = run(
            &Unarchive,
            json!({"src": archive, "dest": dest.path()}),
            &Ctx::default(),
        );
        assert!(r.is_changed(), "{r:?}");
        assert!(dest.path().join("x..y/..z").is_file());
    }

    #[test]
    fn a_missing_tool_is_named() {
        // PATH with every tool but xz.
        let bin = tempfile::tempdir().unwrap();
        for tool in [
            "sh", "od", "tr", "mktemp", "rm", "base64", "printf", "dd", "tar", "find", "cmp",
            "stat", "mkdir", "cat",
        ] {
            if let Ok(p) = which(tool) {
                std::os::unix::fs::symlink(p, bin.path().join(tool)).unwrap();
            }
        }
        let work = tempfile::tempdir().unwrap();
        let archive = make(work.path(), "xz");
        let dest = tempfile::tempdir().unwrap();
        let path = bin.path().display().to_string();
        let r = run_with_env(
            &Unarchive,
            json!({"src": archive, "dest": dest.path()}),
            &Ctx::default(),
            &[("PATH", path.as_str())],
        );
        assert_eq!(
            r.msg
                .as_deref()
                .map(|m| m.starts_with("xz not found on host")),
            Some(true),
            "{r:?}"
        );
    }

    fn which(tool: &str) -> Result<String, ()> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .map_err(|_| ())?;
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if p.starts_with('/') {
            Ok(p)
        } else {
            Err(())
        }
    }
}

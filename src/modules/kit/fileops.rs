//! Remote file handling shared by the file-writing modules: reading a file's
//! state, applying mode/owner/group, and replacing a file atomically.
//!
//! The shell side is [`FILE_LIB`], a set of POSIX functions a script includes
//! after the answer prelude. They keep the common path lean: one `stat` to learn
//! a file's attributes, builtins for every comparison, and a process only for
//! something that actually has to change.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::args::ArgReader;
use crate::modules::ModuleError;
use crate::shell;

/// Shell functions for file work. Conventions:
/// - `_ck=1` means check mode: decide and report, change nothing.
/// - `_stat PATH` sets `_m` (octal mode as `stat %a` prints it), `_u`/`_g`
///   (ids), `_U`/`_G` (names; the id where the id has no name, as Ansible
///   reports it, never stat's `UNKNOWN`, which a user could be called),
///   `_s` (size); returns 1 when stat fails. It asks the shell's
///   file-attribute helper first where the shell offers one
///   (`$__baton_fa`, the SSH worker's; see
///   `transport::ssh::worker::FILE_ATTRS`), sparing the `stat` process.
///   Both answer `MODE UID GID SIZE USER:GROUP`: the numbers first, then
///   the names split at the colon, which no user or group name holds
///   (passwd and group files are colon-separated; chown's `OWNER:GROUP`
///   could not name one), so a name with spaces (`domain users`, from
///   sssd) reads whole. Any other shape fails the script (`stat_answer`),
///   quoting the answer on stderr.
/// - `_attrs PATH MODE OWNER GROUP` compares against those variables and
///   fixes what differs, setting `_ac=1` when something changed (or would)
///   and `_ach=1` when it did (the names then are the requested ones, to be
///   read again for a report). An OWNER or GROUP of digits is an id and is
///   compared with the id only, and given to chown as `+N`, GNU's spelling
///   for "an id, not a name": Ansible's `int(owner)` comes first too, so
///   `owner: "1000"` means uid 1000 even where a user is called `1000`.
///   A name is compared with the name only.
///   A numeric MODE is given normalized (`644`, `4755`); anything else is a
///   symbolic chmod mode. With `_nf=1` PATH is a symbolic link: ownership
///   changes the link itself and MODE is ignored (links have no mode).
/// - `_full DIR` holds when the filesystem of DIR has no space left (`df`),
///   to tell a full disk from another write error (dash's `printf` says
///   only "I/O error").
/// - `_put ENC DATA` writes DATA (`t`: as is, `b`: base64) to `$_d` through a
///   temporary file in the same directory and a rename. It reads `_e` (the
///   destination exists; then `_m _u _g` describe it), the requested
///   attributes `_mo _ow _gr`, `_bk=1` for a backup (reported as
///   `backup_file`) and `_vf=1` to run `_validate TMP` before the rename.
///   A symbolic `_mo` applies to the existing file's mode, or for a new file
///   to the default mode the umask gives (0644 with umask 022), as Ansible
///   does: `u+x` makes a new file 0744, not 0700.
pub(crate) const FILE_LIB: &str = r#"_stat() {
  if [ "${__baton_fa-}" = 1 ] && __baton_fstat "$1"; then _x=$__baton_fs _r=
  else _x=$(stat -c '%a %u %g %s %U:%G' -- "$1") || return 1; _r=stat; fi
  _sa=$_x
  _m=${_x%% *} _x=${_x#* }
  _u=${_x%% *} _x=${_x#* }
  _g=${_x%% *} _x=${_x#* }
  _s=${_x%% *} _x=${_x#* }
  for _sv in "$_m" "$_u" "$_g" "$_s"; do
    case $_sv in ''|*[!0-9]*) _bad_stat "$1" ;; esac
  done
  case $_x in *:*) ;; *) _bad_stat "$1" ;; esac
  _U=${_x%%:*} _G=${_x#*:}
  # stat names an id without a name UNKNOWN; the helper gives the id, as
  # Ansible reports it. A real user or group called UNKNOWN is asked for.
  if [ "$_r" = stat ]; then
    [ "$_U" != UNKNOWN ] || [ "$(id -u -- UNKNOWN 2>/dev/null)" = "$_u" ] || _U=$_u
    if [ "$_G" = UNKNOWN ]; then
      _x=$(getent group UNKNOWN 2>/dev/null); _x=${_x#*:*:}
      [ "${_x%%:*}" = "$_g" ] || _G=$_g
    fi
  fi
}
_bad_stat() {
  printf 'the attributes of %s read as `%s`, not `MODE UID GID SIZE USER:GROUP`\n' "$1" "$_sa" >&2
  _fail stat_answer
}
_attrs() {
  _o= _r=
  case $3 in
    '') ;;
    *[!0-9]*) [ "$3" = "$_U" ] || _o=$3 ;;
    *) [ "$3" -eq "$_u" ] 2>/dev/null || _o=+$3 ;;
  esac
  case $4 in
    '') ;;
    *[!0-9]*) [ "$4" = "$_G" ] || _r=$4 ;;
    *) [ "$4" -eq "$_g" ] 2>/dev/null || _r=+$4 ;;
  esac
  if [ -n "$_o$_r" ]; then
    _ac=1
    if [ "$_ck" != 1 ]; then
      chown ${_nf:+-h} -- "$_o${_r:+:$_r}" "$1" || if [ -n "$_o" ]; then _fail chown; else _fail chgrp; fi
      case $_m in ????) _m=x ;; esac
      _ach=1
    fi
    case $_o in '') ;; +*) _u=${_o#+} _U=${_o#+} ;; *) _U=$_o ;; esac
    case $_r in '') ;; +*) _g=${_r#+} _G=${_r#+} ;; *) _G=$_r ;; esac
  fi
  case ${_nf:+x}$2 in
    ''|x*) ;;
    [0-7]*)
      if [ "$2" != "$_m" ]; then
        _ac=1
        [ "$_ck" = 1 ] || chmod -- "00$2" "$1" || _fail chmod
        _m=$2
      fi ;;
    *)
      if [ "$_ck" = 1 ]; then
        if [ -d "$1" ]; then _t=$(mktemp -d); else _t=$(mktemp); fi || _fail tmp
        if chmod -- "00$_m" "$_t" && _x=$(chmod -c -- "$2" "$_t"); then rm -rf -- "$_t"
        else rm -rf -- "$_t"; _fail chmod; fi
      else
        _x=$(chmod -c -- "$2" "$1") || _fail chmod
      fi
      if [ -n "$_x" ]; then _ac=1; _m=; fi ;;
  esac
}
_full() {
  df -Pk -- "$1" 2>/dev/null | { read -r _h; read -r _fs _tot _used _av _rest; [ "$_av" = 0 ]; }
}
_put() {
  case $_d in */*) _dir=${_d%/*} ;; *) _dir=. ;; esac
  [ -n "$_dir" ] || _dir=/
  [ -d "$_dir" ] || _fail nodir
  case $_mo in ''|[0-7]*) ;; *) _um=$(umask) ;; esac
  if [ "$_e" = 1 ] || [ -n "$_mo" ]; then umask 077; fi
  _n=0
  while :; do
    _tmp="$_dir/.baton.$$.$_n"
    set -C
    if true >"$_tmp"; then set +C; break; fi
    set +C
    if [ -e "$_tmp" ] && [ "$_n" -lt 50 ]; then _n=$((_n + 1)); else _fail tmp; fi
  done
  if [ "$1" = b ]; then printf '%s' "$2" | base64 -d >"$_tmp"; else printf '%s' "$2" >"$_tmp"; fi || {
    # printf says only "I/O error": ask the filesystem, while the partial
    # temporary file still fills it.
    if _full "$_dir"; then rm -f -- "$_tmp"; _fail full; fi
    rm -f -- "$_tmp"; _fail write; }
  # A numeric owner or group is an id (`+N` to chown), as Ansible's
  # `int(owner)` first, even where a user is named by those digits.
  case $_ow in *[!0-9]*) _po=$_ow ;; ?*) _po=+$_ow ;; *) _po= ;; esac
  case $_gr in *[!0-9]*) _pg=$_gr ;; ?*) _pg=+$_gr ;; *) _pg= ;; esac
  if [ "$_e" = 1 ]; then
    if [ -n "$_ow$_gr" ] || ! [ -O "$_d" ] || ! [ -G "$_d" ] || [ -g "$_dir" ]; then
      if [ -n "$_ow$_gr" ]; then
        chown -- "${_po:-+$_u}:${_pg:-+$_g}" "$_tmp" || { rm -f -- "$_tmp"; _fail chown; }
      else
        chown -- "+$_u:+$_g" "$_tmp" 2>/dev/null
      fi
    fi
  elif [ -n "$_ow$_gr" ]; then
    chown -- "$_po${_pg:+:$_pg}" "$_tmp" || { rm -f -- "$_tmp"; if [ -n "$_ow" ]; then _fail chown; else _fail chgrp; fi; }
  fi
  case $_mo in
    '') [ "$_e" != 1 ] || chmod -- "00$_m" "$_tmp" ;;
    [0-7]*) chmod -- "00$_mo" "$_tmp" ;;
    *)
      if [ "$_e" = 1 ]; then _x=$_m; else _x=$(printf %o $((0666 & ~0$_um))); fi
      umask "$_um"; chmod -- "00$_x" "$_tmp" && chmod -- "$_mo" "$_tmp" ;;
  esac || { rm -f -- "$_tmp"; _fail chmod; }
  if [ "$_vf" = 1 ]; then _validate "$_tmp" >&2 || { rm -f -- "$_tmp"; _fail validate; }; fi
  if [ "$_bk" = 1 ] && [ "$_e" = 1 ]; then
    _bkf="${_bkn:-$_d}.$$.$(date '+%Y-%m-%d@%H:%M:%S~')"
    cp -p -- "$_d" "$_bkf" || {
      if _full "$_dir"; then rm -f -- "$_tmp" "$_bkf"; _fail backup_full; fi
      rm -f -- "$_tmp" "$_bkf"; _fail backup; }
    _b backup_file "$_bkf"
  fi
  mv -f -- "$_tmp" "$_d" || { rm -f -- "$_tmp"; _fail rename; }
}
_ach=
"#;

/// Messages for the `_fail` codes of [`FILE_LIB`] and the scripts built on it.
pub(crate) fn failure_message(code: &str, path: &str) -> String {
    match code {
        "chown" => format!("cannot change the owner of {path}"),
        "chgrp" => format!("cannot change the group of {path}"),
        "chmod" => format!("cannot change the mode of {path}"),
        "tmp" => format!("cannot create a temporary file next to {path}"),
        "nodir" => format!("destination directory of {path} does not exist"),
        "write" => format!("cannot write the new content of {path}"),
        "full" => format!(
            "cannot write the new content of {path}: the filesystem holding it is full (no space left on the device); {path} is unchanged"
        ),
        "backup_full" => format!(
            "cannot make a backup copy of {path}: the filesystem holding it is full (no space left on the device); {path} is unchanged"
        ),
        "validate" => {
            format!("validation of the new content of {path} failed; {path} is unchanged")
        }
        "backup" => format!("cannot make a backup copy of {path}"),
        "rename" => format!("cannot move the new content into place at {path}"),
        "stat" => format!("cannot read the attributes of {path}"),
        "stat_answer" => format!(
            "cannot read the attributes of {path}: the host's answer is not in the expected form"
        ),
        "read" => format!("cannot read {path}"),
        "readlink" => format!("cannot resolve the symbolic link {path}"),
        "isdir" => format!("{path} is a directory"),
        "mkdir" => format!("cannot create the directory {path}"),
        "rm" => format!("cannot remove {path}"),
        "raced" => format!(
            "{path} changed on the host while baton was editing it; nothing was written, run again"
        ),
        other => format!("{path}: the host reported `{other}`"),
    }
}

/// A requested file mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Octal(u32),
    /// A chmod symbolic mode such as `u+rwx,g-w`.
    Symbolic(String),
}

impl Mode {
    /// Strings of octal digits are octal (`"0644"`, `"644"`). An unquoted YAML
    /// `0644` arrives as the integer 644, so integers are read by their digits
    /// too: `mode: 0644` and `mode: 644` both mean rw-r--r--.
    pub fn parse(name: &str, value: &Value) -> Result<Mode, ModuleError> {
        let text = match value {
            Value::Number(n) if n.is_u64() => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => {
                return Err(ModuleError::Args(format!(
                    "argument `{name}` must be an octal mode like \"0644\" or a symbolic mode like \"u=rw,g=r\""
                )))
            }
        };
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match u32::from_str_radix(&text, 8) {
                Ok(m) if m <= 0o7777 => Ok(Mode::Octal(m)),
                _ => Err(ModuleError::Args(format!(
                    "argument `{name}`: `{text}` is not an octal mode (digits 0-7, at most 07777)"
                ))),
            };
        }
        if is_symbolic_mode(&text) {
            Ok(Mode::Symbolic(text))
        } else {
            Err(ModuleError::Args(format!(
                "argument `{name}`: `{text}` is neither an octal mode like \"0644\" nor a symbolic mode like \"u=rw,g=r,o=\""
            )))
        }
    }

    /// The word `_attrs` / `_put` take.
    pub fn shell_word(&self) -> String {
        match self {
            Mode::Octal(m) => format!("{m:o}"),
            Mode::Symbolic(s) => s.clone(),
        }
    }
}

/// `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`, comma separated.
fn is_symbolic_mode(text: &str) -> bool {
    !text.is_empty()
        && text.split(',').all(|clause| {
            let actions = clause.trim_start_matches(['u', 'g', 'o', 'a']);
            actions.starts_with(['+', '-', '='])
                && actions.split(['+', '-', '=']).skip(1).all(|perms| {
                    perms.chars().all(|c| "rwxXst".contains(c)) || matches!(perms, "u" | "g" | "o")
                })
        })
}

/// Four-digit display form of `stat %a` output (`644` -> `0644`).
pub(crate) fn display_mode(stat_mode: &str) -> String {
    match u32::from_str_radix(stat_mode, 8) {
        Ok(m) => format!("{m:04o}"),
        Err(_) => stat_mode.to_string(),
    }
}

/// mode / owner / group, as most file modules take them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attrs {
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    pub fn from_args(r: &ArgReader<'_>) -> Result<Attrs, ModuleError> {
        let mode = r
            .value("mode")
            .map(|v| Mode::parse("mode", v))
            .transpose()?;
        Ok(Attrs {
            mode,
            ..Attrs::ownership(r)?
        })
    }

    /// owner and group only.
    pub fn ownership(r: &ArgReader<'_>) -> Result<Attrs, ModuleError> {
        Ok(Attrs {
            mode: None,
            owner: account(r, "owner")?,
            group: account(r, "group")?,
        })
    }

    /// Shell assignments of `_mo _ow _gr` for `_put`.
    pub fn assignments(&self) -> String {
        format!(
            "_mo={} _ow={} _gr={}\n",
            shell::quote(&self.mode.as_ref().map(Mode::shell_word).unwrap_or_default()),
            shell::quote(self.owner.as_deref().unwrap_or_default()),
            shell::quote(self.group.as_deref().unwrap_or_default()),
        )
    }

    /// Arguments to `_attrs PATH`, reading the variables set by [`Attrs::assignments`].
    pub const ATTRS_ARGS: &'static str = r#""$_mo" "$_ow" "$_gr""#;
}

fn account(r: &ArgReader<'_>, name: &str) -> Result<Option<String>, ModuleError> {
    match r.string(name)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        // A colon would split chown's OWNER:GROUP and no passwd or group
        // entry holds one; a newline no name holds. Spaces are legal (sssd
        // and AD names such as `domain users`).
        Some(s) if s.contains([':', '\n']) => Err(ModuleError::Args(format!(
            "argument `{name}` must be one user or group name or numeric id, not `{s}`"
        ))),
        Some(s) => Ok(Some(s)),
    }
}

/// How content travels in a script: `t 'text'` when it is text a shell
/// string can hold (no process needed to write it), else `b 'base64'`.
pub(crate) fn payload_words(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if !text.contains('\0') => format!("t {}", shell::quote(text)),
        _ => {
            use base64::Engine;
            format!(
                "b '{}'",
                base64::engine::general_purpose::STANDARD.encode(data)
            )
        }
    }
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Mode, ids and names as a script reports them with
/// `_b KEY "$_m $_u $_g $_U:$_G"` (mode as `stat %a`, possibly empty for
/// a mode not known in check mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SeenAttrs {
    pub mode: String,
    pub uid: String,
    pub gid: String,
    pub owner: String,
    pub group: String,
}

impl SeenAttrs {
    /// `None` when the line is not of that shape. The names come last and
    /// are split at the colon, as they may hold spaces.
    pub fn parse(line: &str) -> Option<SeenAttrs> {
        let mut f = line.splitn(4, ' ');
        let (mode, uid, gid, names) = (f.next()?, f.next()?, f.next()?, f.next()?);
        let (owner, group) = names.split_once(':')?;
        Some(SeenAttrs {
            mode: mode.to_string(),
            uid: uid.to_string(),
            gid: gid.to_string(),
            owner: owner.to_string(),
            group: group.to_string(),
        })
    }
}

/// What an attribute-only diff shows after the change, from the mode,
/// owner and group the script reported after `_attrs`: a symbolic mode in
/// check mode was not applied, so what it makes is not known; it is shown
/// as asked.
pub(crate) fn attrs_after(
    requested: Option<&Mode>,
    check: bool,
    mode: &str,
    owner: &str,
    group: &str,
) -> [(&'static str, String); 3] {
    let mode = match requested {
        Some(Mode::Symbolic(sym)) if check => sym.clone(),
        _ if mode.is_empty() => String::new(),
        _ => display_mode(mode),
    };
    [
        ("mode", mode),
        ("owner", owner.to_string()),
        ("group", group.to_string()),
    ]
}

/// The diff of an attribute-only change (content the same): the path and
/// each of mode, owner and group that differs, before and after, as
/// Ansible's `file` module (which its `copy` runs when the checksums
/// match) lists only the attributes it changed. `before` is the
/// `_b before "$_m $_u $_g $_U:$_G"` line; `after` the values as shown.
/// `None` when nothing shown differs or `before` is not of that shape.
pub(crate) fn attrs_diff(
    path: &str,
    before: &str,
    after: &[(&str, String); 3],
) -> Option<crate::modules::FileDiff> {
    let seen = SeenAttrs::parse(before)?;
    let old = [display_mode(&seen.mode), seen.owner, seen.group];
    let mut b = format!("path: {path}\n");
    let mut a = b.clone();
    let mut any = false;
    for ((key, new), old) in after.iter().zip(old) {
        if new.is_empty() || *new == old {
            continue;
        }
        any = true;
        b.push_str(&format!("{key}: {old}\n"));
        a.push_str(&format!("{key}: {new}\n"));
    }
    any.then(|| crate::modules::FileDiff {
        path: path.to_string(),
        before: b,
        after: a,
    })
}

/// [`attrs_diff`] from a script's answer: its `attrs_before` line, and the
/// `mode`, `owner` and `group` it reported after `_attrs`.
pub(crate) fn answered_attrs_diff(
    path: &str,
    answer: &super::answer::Answer,
    requested: Option<&Mode>,
    check: bool,
) -> Option<crate::modules::FileDiff> {
    let after = attrs_after(
        requested,
        check,
        answer.get("mode").unwrap_or_default(),
        answer.get("owner").unwrap_or_default(),
        answer.get("group").unwrap_or_default(),
    );
    attrs_diff(path, answer.get("attrs_before")?, &after)
}

/// Largest content shown in a diff, as Ansible's default `max_diff_size` roughly.
pub(crate) const DIFF_LIMIT: usize = 100 * 1024;

/// Text for one side of a content diff: the content, or why it is not shown.
pub(crate) fn diff_side(data: &[u8]) -> String {
    if data.len() > DIFF_LIMIT {
        return format!(
            "[{} bytes: over the {} KiB diff limit, not shown]\n",
            data.len(),
            DIFF_LIMIT / 1024
        );
    }
    if data[..data.len().min(8192)].contains(&0) {
        return format!("[binary content, {} bytes, not shown]\n", data.len());
    }
    String::from_utf8_lossy(data).into_owned()
}

/// A shell function `_validate TMP` for Ansible's `validate` argument: the
/// command is split like a shell would (no shell runs it) and `%s` becomes the
/// temporary file.
pub(crate) fn validate_function(command: &str) -> Result<String, ModuleError> {
    if !command.contains("%s") {
        return Err(ModuleError::Args(format!(
            "argument `validate` must contain %s (where the new file's path goes): `{command}`"
        )));
    }
    let words = shlex::split(command).ok_or_else(|| {
        ModuleError::Args(format!(
            "argument `validate`: unbalanced quote or trailing backslash in `{command}`"
        ))
    })?;
    let line: Vec<String> = words
        .iter()
        .map(|w| {
            if w.is_empty() {
                return "''".to_string();
            }
            w.split("%s")
                .map(|part| {
                    if part.is_empty() {
                        String::new()
                    } else {
                        shell::quote(part)
                    }
                })
                .collect::<Vec<_>>()
                .join("\"$1\"")
        })
        .collect();
    Ok(format!("_validate() {{ {}; }}\n_vf=1\n", line.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_read_octal_digits_and_symbolic_clauses() {
        assert_eq!(
            Mode::parse("mode", &json!("0644")).unwrap(),
            Mode::Octal(0o644)
        );
        assert_eq!(
            Mode::parse("mode", &json!(644)).unwrap(),
            Mode::Octal(0o644)
        );
        assert_eq!(
            Mode::parse("mode", &json!("04755")).unwrap().shell_word(),
            "4755"
        );
        assert_eq!(
            Mode::parse("mode", &json!("u=rwX,g-w,o=")).unwrap(),
            Mode::Symbolic("u=rwX,g-w,o=".into())
        );
        for bad in [
            json!("0985"),
            json!("rw-r--r--"),
            json!("u+q"),
            json!(true),
            json!(""),
        ] {
            assert!(Mode::parse("mode", &bad).is_err(), "{bad}");
        }
    }

    /// Runs FILE_LIB's `_stat` on a file with a `stat` (and `id`, `getent`)
    /// that print `answer`; returns the variables it set, or the failure
    /// and stderr.
    fn stat_with(answer: &str, id_u: &str, getent: &str) -> (String, String) {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        for (tool, out) in [("stat", answer), ("id", id_u), ("getent", getent)] {
            let path = bin.path().join(tool);
            std::fs::write(
                &path,
                format!("#!/bin/sh\nprintf '%s\\n' {}\n", shell::quote(out)),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let script = format!(
            "{}{FILE_LIB}_stat /f || _fail nostat\nprintf '%s|' \"$_m\" \"$_u\" \"$_g\" \"$_s\" \"$_U\" \"$_G\"\n",
            super::super::answer::prelude("n1")
        );
        let path = format!("{}:/usr/bin:/bin", bin.path().display());
        let out = crate::modules::kit::testutil::run_script(&script, &[("PATH", &path)]);
        (out.stdout, out.stderr)
    }

    #[test]
    fn stat_answers_read_names_with_spaces_whole_and_refuse_other_shapes() {
        let (out, _) = stat_with("2755 0 1001 12 root:domain users", "", "");
        assert_eq!(out, "2755|0|1001|12|root|domain users|");
        let (out, _) = stat_with("644 1000 1000 0 jane doe:a b c", "", "");
        assert_eq!(out, "644|1000|1000|0|jane doe|a b c|");
        // The old order (names in the middle), fields missing, words where
        // numbers go: refused, quoting the answer.
        for bad in [
            "644 0 0 root root 12",
            "644 0 0 12",
            "644 0 0 x root:root",
            "",
            "644 0 0 12 root",
        ] {
            let (out, err) = stat_with(bad, "", "");
            assert_eq!(out, "__baton_n1 fail stat_answer\n", "{bad:?}");
            assert!(err.contains(&format!("read as `{bad}`")), "{bad:?}: {err}");
        }
    }

    #[test]
    fn an_id_without_a_name_is_the_id_never_a_user_called_unknown() {
        // stat says UNKNOWN; no user or group of that name: the ids.
        let (out, _) = stat_with("600 3900000001 3900000002 1 UNKNOWN:UNKNOWN", "", "");
        assert_eq!(out, "600|3900000001|3900000002|1|3900000001|3900000002|");
        // A real user and group called UNKNOWN with those ids keep the name.
        let (out, _) = stat_with("600 5000 5001 1 UNKNOWN:UNKNOWN", "5000", "UNKNOWN:x:5001:");
        assert_eq!(out, "600|5000|5001|1|UNKNOWN|UNKNOWN|");
        // ... but not when they have other ids.
        let (out, _) = stat_with("600 5000 5001 1 UNKNOWN:UNKNOWN", "7", "UNKNOWN:x:8:");
        assert_eq!(out, "600|5000|5001|1|5000|5001|");
    }

    /// `_attrs` in check mode on a file `_stat` read as `seen`: whether it
    /// would change the owner or group.
    fn would_change(seen: &str, owner: &str, group: &str) -> bool {
        let (out, _) = {
            use std::os::unix::fs::PermissionsExt;
            let bin = tempfile::tempdir().unwrap();
            let path = bin.path().join("stat");
            std::fs::write(
                &path,
                format!("#!/bin/sh\nprintf '%s\\n' {}\n", shell::quote(seen)),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            let script = format!(
                "{}{FILE_LIB}_ck=1 _ac=0\n_stat /f\n_attrs /f '' {} {}\necho \"$_ac\"\n",
                super::super::answer::prelude("n1"),
                shell::quote(owner),
                shell::quote(group),
            );
            let path = format!("{}:/usr/bin:/bin", bin.path().display());
            let out = crate::modules::kit::testutil::run_script(&script, &[("PATH", &path)]);
            (out.stdout, out.stderr)
        };
        match out.trim() {
            "1" => true,
            "0" => false,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn digits_are_compared_as_an_id_and_names_as_a_name() {
        // Owner "0" is root's id; "1000" is uid 1000 even when the file's
        // owner is a user called 1000 (with another uid), as Ansible's
        // int(owner) first.
        assert!(!would_change("644 0 0 1 root:root", "0", "0"));
        assert!(!would_change("644 0 0 1 root:root", "00", ""));
        assert!(would_change("644 2000 0 1 1000:root", "1000", ""));
        assert!(!would_change("644 1000 0 1 jane:root", "1000", ""));
        assert!(would_change("644 0 2000 1 root:1000", "", "1000"));
        // A name is compared with the name, never with the id.
        assert!(would_change("644 0 0 1 root:root", "5", ""));
        assert!(!would_change(
            "644 0 1001 1 root:domain users",
            "root",
            "domain users"
        ));
        assert!(would_change("644 0 1001 1 root:domain users", "", "domain"));
        // An unnamed id reads as the id: a user called UNKNOWN differs.
        assert!(would_change(
            "644 3900000001 0 1 UNKNOWN:root",
            "UNKNOWN",
            ""
        ));
        assert!(!would_change(
            "644 3900000001 0 1 UNKNOWN:root",
            "3900000001",
            ""
        ));
    }

    #[test]
    fn attribute_diffs_list_the_path_and_only_what_changed() {
        let after = |m: &str, o: &str, g: &str| {
            [
                ("mode", m.to_string()),
                ("owner", o.to_string()),
                ("group", g.to_string()),
            ]
        };
        let d = attrs_diff("/f", "644 0 0 root:root", &after("0600", "root", "root")).unwrap();
        assert_eq!(
            (d.before.as_str(), d.after.as_str()),
            ("path: /f\nmode: 0644\n", "path: /f\nmode: 0600\n")
        );
        let d = attrs_diff(
            "/f",
            "644 0 1001 root:domain users",
            &after("0644", "jane doe", "domain users"),
        )
        .unwrap();
        assert_eq!(
            (d.before.as_str(), d.after.as_str()),
            ("path: /f\nowner: root\n", "path: /f\nowner: jane doe\n")
        );
        assert!(attrs_diff("/f", "644 0 0 root:root", &after("0644", "root", "root")).is_none());
        assert!(attrs_diff("/f", "644 0 0 root root", &after("0600", "", "")).is_none());
    }

    #[test]
    fn payload_is_text_when_a_shell_string_can_hold_it() {
        assert_eq!(
            payload_words(b"it's\n"),
            r"t 'it'\''s
'"
        );
        assert!(payload_words(b"a\0b").starts_with("b 'YQBi'"));
        assert!(payload_words(&[0xff, 0xfe]).starts_with("b "));
    }

    #[test]
    fn diff_sides_hide_binary_and_huge_content() {
        assert_eq!(diff_side(b"a\n"), "a\n");
        assert!(diff_side(b"\0\x01").contains("binary"));
        assert!(diff_side(&vec![b'a'; DIFF_LIMIT + 1]).contains("diff limit"));
    }

    #[test]
    fn validate_quotes_words_and_substitutes_the_temp_file() {
        let f = validate_function("visudo -cf %s").unwrap();
        assert_eq!(f, "_validate() { visudo -cf \"$1\"; }\n_vf=1\n");
        let f = validate_function("check '--file=%s.new' x").unwrap();
        assert!(f.contains(r#"--file="$1".new"#), "{f}");
        assert!(validate_function("visudo -c").is_err());
    }
}

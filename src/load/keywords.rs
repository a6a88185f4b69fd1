//! The keywords a task, a block, a role entry and a play share, and how each
//! sets a [`TaskCommon`]. Below both the task parser and the role loader,
//! which both read them.

use crate::error::InputError;
use crate::yaml::Node;

use super::fields::{self, boolean, conditions, string, string_list, var_pairs};
use super::task::TaskCommon;

/// Keywords of a task (besides its one module).
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "register",
    "loop",
    "with_items",
    "with_list",
    "loop_control",
    "until",
    "retries",
    "delay",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "tags",
    "notify",
    "delegate_to",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "timeout",
    "become",
    "become_user",
    "become_method",
    "environment",
    "vars",
    "args",
    "listen",
    "any_errors_fatal",
];

/// Keywords of a block.
pub const BLOCK_KEYWORDS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "vars",
    "environment",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "ignore_unreachable",
    "delegate_to",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "timeout",
];

/// An environment variable name a POSIX shell can `export`: letters, digits
/// and `_`, not starting with a digit.
pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A literal `environment` mapping: valid names (template names are checked
/// once rendered).
fn check_environment(env: &Node) -> Result<(), InputError> {
    let pairs = env.as_map().ok_or_else(|| {
        InputError::at(
            &env.origin,
            format!(
                "`environment` must be a mapping of variable names to values, not {}",
                env.kind_name()
            ),
            "expected `NAME: value` pairs here",
        )
        .with_help("e.g. `environment: {http_proxy: \"http://proxy:3128\"}`, or a variable holding such a mapping: `environment: \"{{ proxy_env }}\"`")
    })?;
    for (k, _) in pairs {
        let name = fields::key_text(k)?;
        if !crate::template_text::is_template(&name) && !valid_env_name(&name) {
            return Err(InputError::at(
                &k.origin,
                format!("`{name}` is not a valid environment variable name"),
                "here",
            )
            .with_help("names are letters, digits and `_`, not starting with a digit"));
        }
    }
    Ok(())
}

/// Apply a keyword shared by tasks, blocks, roles and plays. Returns whether
/// the key was one of them.
pub fn apply_common(common: &mut TaskCommon, key: &str, v: &Node) -> Result<bool, InputError> {
    match key {
        "when" => common.when.extend(conditions(v)),
        "tags" => common.tags = string_list(v, "tags")?,
        "vars" => common.vars = var_pairs(v, "`vars`")?,
        "environment" => {
            // A mapping, a template giving one (`"{{ proxy_env }}"`, rendered
            // per host, where a result that is not a mapping is an error), or
            // a list of those, as in Ansible.
            let entries = match v.as_seq() {
                Some(items) => items.iter().collect(),
                None if v.is_null() => Vec::new(),
                None => vec![v],
            };
            for env in entries {
                let templated = env.as_str().is_some_and(crate::template_text::is_template);
                if !templated {
                    check_environment(env)?;
                }
                common.environment.push(env.clone());
            }
        }
        "become" => common.become_ = Some(boolean(v, "become")?),
        "become_user" => common.become_user = Some(v.clone()),
        "become_method" => {
            let m = string(v, "become_method")?;
            if m != "sudo" {
                return Err(InputError::at(
                    &v.origin,
                    format!("become_method `{m}` is not supported"),
                    "here",
                )
                .with_help("baton becomes other users with `sudo -n` only"));
            }
        }
        "ignore_errors" => common.ignore_errors = Some(boolean(v, "ignore_errors")?),
        "ignore_unreachable" => common.ignore_unreachable = Some(boolean(v, "ignore_unreachable")?),
        "delegate_to" => common.delegate_to = Some(v.clone()),
        "run_once" => common.run_once = Some(boolean(v, "run_once")?),
        // A template (`no_log: "{{ secret_flag }}"`, as Ansible accepts) is
        // rendered per host when the task runs; until then, and wherever a
        // host's value is not known (the task's name, `--list-tasks`, load
        // errors), the task counts as `no_log: true`: fail closed.
        "no_log" if v.as_str().is_some_and(crate::template_text::is_template) => {
            common.no_log = Some(true);
            common.no_log_template = Some(v.clone());
        }
        "no_log" => common.no_log = Some(boolean(v, "no_log")?),
        "check_mode" => common.check_mode = Some(boolean(v, "check_mode")?),
        "diff" => common.diff = Some(boolean(v, "diff")?),
        "any_errors_fatal" => common.any_errors_fatal = Some(boolean(v, "any_errors_fatal")?),
        // A template is rendered when the task runs, and bounded as here
        // (Ansible accepts `timeout: "{{ t }}"`).
        "timeout" if v.as_str().is_some_and(crate::template_text::is_template) => {
            common.timeout_template = Some(v.clone());
        }
        "timeout" => {
            let n = fields::number(v, "timeout")?;
            let secs = crate::bounds::timeout_seconds(n)
                .map_err(|m| InputError::at(&v.origin, m, "here"))?;
            common.timeout = Some(secs);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

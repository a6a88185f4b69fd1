//! What each subcommand does, from parsed flags to an exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::{AdhocArgs, ConnectArgs, InventoryArgs, OutputFormat, PingArgs, RunArgs};
use crate::error::{exit_code, Error, InputError};
use crate::execute::{self, ConnectOptions, RunOptions};
use crate::load::inventory::Inventory;
use crate::load::playbook::{self, Playbook};
use crate::load::{extra_vars, play::Play};
use crate::plan::template::Templater;
use crate::plan::vars::{merge_partial, Layer};
use crate::report::human::{HumanOptions, HumanReporter};
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::{Fanout, Reporter};

pub fn install_diagnostics_hook() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .terminal_links(false)
                .context_lines(2)
                .build(),
        )
    }));
}

/// Print an error with its source snippet; return its exit code.
fn report_error(e: impl Into<Error>) -> i32 {
    let e: Error = e.into();
    let code = e.exit_code();
    eprintln!("{:?}", miette::Report::new(e));
    code
}

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            report_error(Error::Internal(format!(
                "cannot start the async runtime: {e}"
            )))
        })
}

fn reporters(connect: &ConnectArgs, check: bool, diff: bool, junit: Option<&Path>) -> Fanout {
    let mut list: Vec<Box<dyn Reporter>> = Vec::new();
    match connect.output {
        OutputFormat::Human => {
            let tty = std::io::stdout().is_terminal();
            let options = HumanOptions {
                verbosity: connect.verbose,
                diff,
                check_mode: check,
                color: tty && std::env::var_os("NO_COLOR").is_none(),
                progress: tty,
            };
            list.push(Box::new(HumanReporter::new(
                options,
                Box::new(std::io::stdout()),
            )));
        }
        OutputFormat::Json => list.push(Box::new(JsonReporter::new(Box::new(std::io::stdout())))),
    }
    if let Some(path) = junit {
        list.push(Box::new(JunitReporter::new(path.to_path_buf())));
    }
    Fanout::new(list)
}

fn run_options(connect: &ConnectArgs, extra: Map<String, Value>) -> RunOptions {
    RunOptions {
        forks: connect.forks.max(1),
        extra_vars: extra,
        connect: ConnectOptions {
            connect_timeout: Duration::from_secs(connect.connect_timeout.max(1)),
            accept_new_host_keys: connect.ssh_accept_new,
        },
        verbosity: connect.verbose,
        ..RunOptions::default()
    }
}

/// Load what every host-facing command needs.
fn load_common(
    inventory: &[PathBuf],
    extra: &[String],
) -> Result<(Inventory, Map<String, Value>), InputError> {
    let extra = extra_vars::parse(extra)?;
    let inventory = Inventory::load(inventory)?;
    for warning in inventory.warnings() {
        eprintln!("[WARNING]: {warning}");
    }
    Ok((inventory, extra))
}

fn execute(
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
    reporter: &Fanout,
) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let interrupt = std::sync::Arc::clone(&options.interrupt);
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        interrupt.store(true, std::sync::atomic::Ordering::SeqCst);
        eprintln!("\nbaton: interrupt: letting the running task finish on every host, then stopping (Ctrl-C again to quit at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("baton: quit at once; tasks may have been cut off mid-way");
            std::process::exit(crate::error::exit_code::INTERRUPTED);
        }
    });
    let summary = rt.block_on(execute::run_playbook(
        playbook, inventory, options, reporter,
    ));
    reporter.finish();
    match summary {
        Ok(summary) => {
            for e in summary.input_errors {
                report_error(e);
            }
            summary.exit_code
        }
        Err(e) => report_error(e),
    }
}

pub fn run(args: RunArgs) -> i32 {
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    // Load, then compile every template and condition, before anything runs.
    let playbook = match playbook::resolve(&args.playbook)
        .and_then(|p| playbook::load(&p))
        .and_then(|pb| crate::plan::compile::check_playbook(&pb).map(|()| pb))
    {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let mut inventory = inventory;
    let playbook_dir = playbook
        .path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if let Err(e) = inventory.load_playbook_vars(&playbook_dir) {
        return report_error(e);
    }
    if args.syntax_check {
        println!(
            "playbook: {} (syntax OK: {} plays, {} tasks)",
            playbook.path.display(),
            playbook.plays.len(),
            playbook
                .plays
                .iter()
                .map(|p| p.all_tasks().len())
                .sum::<usize>()
        );
        return exit_code::OK;
    }
    let mut options = run_options(&args.connect, extra);
    options.check = args.check;
    options.diff = args.diff;
    options.limit = args.limit.clone();
    options.tags = args.tags.clone();
    options.skip_tags = args.skip_tags.clone();
    options.start_at_task = args.start_at_task.clone();
    if args.list_hosts || args.list_tasks {
        return match list(
            &playbook,
            &inventory,
            &options,
            args.list_hosts,
            args.list_tasks,
        ) {
            Ok(()) => exit_code::OK,
            Err(e) => report_error(e),
        };
    }
    let reporter = reporters(&args.connect, args.check, args.diff, args.junit.as_deref());
    execute(&playbook, &inventory, &options, &reporter)
}

fn play_hosts(
    play: &Play,
    inventory: &Inventory,
    options: &RunOptions,
) -> Result<Vec<String>, InputError> {
    let templater = Templater::new();
    let vars = Value::Object(merge_partial(
        &[
            Layer::Nodes(&play.vars),
            Layer::Templated(&options.extra_vars, "-e"),
        ],
        &templater,
    ));
    let pattern = templater.render_str(
        play.hosts.as_str().unwrap_or_default(),
        &vars,
        &play.hosts.origin,
    )?;
    let mut hosts = inventory.select(&pattern)?;
    if let Some(limit) = &options.limit {
        let allowed = inventory.select(limit)?;
        hosts.retain(|h| allowed.contains(h));
    }
    Ok(hosts)
}

fn list(
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
    hosts: bool,
    tasks: bool,
) -> Result<(), InputError> {
    let filter = execute::tags::TagFilter::new(&options.tags, &options.skip_tags);
    println!("playbook: {}", playbook.path.display());
    for play in &playbook.plays {
        println!();
        println!(
            "  play: {} ({})",
            play.name,
            play.hosts.as_str().unwrap_or_default()
        );
        if hosts {
            let list = play_hosts(play, inventory, options)?;
            println!("    hosts ({}):", list.len());
            for h in list {
                println!("      {h}");
            }
        }
        if tasks {
            println!("    tasks:");
            for task in play.all_tasks() {
                if !filter.selects_task(&task.common) {
                    continue;
                }
                let tags = if task.common.tags.is_empty() {
                    String::new()
                } else {
                    format!("  TAGS: [{}]", task.common.tags.join(", "))
                };
                println!(
                    "      {}  ({}){tags}",
                    task.display_name(),
                    task.origin.describe()
                );
            }
        }
    }
    Ok(())
}

pub fn inventory(args: InventoryArgs) -> i32 {
    let (inventory, _extra) = match load_common(&args.inventory, &args.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    if args.graph {
        print!("{}", inventory.to_graph());
    } else {
        match serde_json::to_string_pretty(&inventory.to_list_json()) {
            Ok(s) => println!("{s}"),
            Err(e) => return report_error(Error::Internal(e.to_string())),
        }
    }
    exit_code::OK
}

/// Build a one-task play for `ping` and `adhoc`.
fn one_task_playbook(
    pattern: &str,
    module: &str,
    args: &str,
    become_user: Option<&str>,
) -> Result<Playbook, InputError> {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let task_args = if args.trim().is_empty() {
        "null".to_string()
    } else {
        quoted(args)
    };
    let become_lines = match become_user {
        Some(user) => format!("  become: true\n  become_user: {}\n", quoted(user)),
        None => String::new(),
    };
    let text = format!(
        "- name: ad-hoc\n  hosts: {}\n  gather_facts: false\n{become_lines}  tasks:\n    - name: {}\n      {module}: {task_args}\n",
        quoted(pattern),
        quoted(format!("{module} {args}").trim()),
    );
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let playbook = playbook::load_text("(command line)", text, &dir)?;
    crate::plan::compile::check_playbook(&playbook)?;
    Ok(playbook)
}

pub fn adhoc(args: AdhocArgs) -> i32 {
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    if args
        .module
        .contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return report_error(InputError::plain(format!(
            "`{}` is not a module name",
            args.module
        )));
    }
    let playbook = match one_task_playbook(
        &args.pattern,
        &args.module,
        &args.args,
        args.become_.then_some(args.become_user.as_str()),
    ) {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let mut options = run_options(&args.connect, extra);
    options.check = args.check;
    options.diff = args.diff;
    let reporter = reporters(&args.connect, args.check, args.diff, None);
    execute(&playbook, &inventory, &options, &reporter)
}

pub fn ping(args: PingArgs) -> i32 {
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    let playbook = match one_task_playbook(&args.pattern, "ping", "", None) {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let options = run_options(&args.connect, extra);
    let reporter = reporters(&args.connect, false, false, None);
    execute(&playbook, &inventory, &options, &reporter)
}

pub fn modules(name: Option<&str>) -> i32 {
    let list: Vec<&'static dyn crate::modules::Module> = match name {
        Some(n) => match crate::modules::find(n) {
            Some(m) => vec![m],
            None => {
                let hint = crate::error::did_you_mean(n, crate::modules::names())
                    .map(|h| format!("did you mean `{h}`? "))
                    .unwrap_or_default();
                return report_error(
                    InputError::plain(format!("no module named `{n}`"))
                        .with_help(format!("{hint}`baton modules` lists them")),
                );
            }
        },
        None => crate::modules::all().to_vec(),
    };
    for module in list {
        let spec = module.spec();
        println!("{}", spec.name);
        if let Some(free) = spec.free_form {
            println!("  (free-form text goes to `{free}`)");
        }
        if spec.any_args {
            println!("  (any argument name: each becomes a variable)");
        }
        for arg in spec.args {
            let mut line = format!("  {}", arg.name);
            if arg.required {
                line.push_str("  [required]");
            }
            if !arg.aliases.is_empty() {
                line.push_str(&format!("  aliases: {}", arg.aliases.join(", ")));
            }
            if !arg.choices.is_empty() {
                line.push_str(&format!("  one of: {}", arg.choices.join(" | ")));
            }
            println!("{line}");
        }
        for group in spec.one_of {
            println!("  exactly one of: {}", group.join(", "));
        }
    }
    exit_code::OK
}

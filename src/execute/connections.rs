//! One connection per host for the whole run, opened on first use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::error::InputError;
use crate::load::inventory::{self, connection_var};
use crate::report::{Event, Reporter};
use crate::transport::{Connection, ConnectionKind, ConnectionSpec, TransportError};

/// Connection settings from the command line.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    pub accept_new_host_keys: bool,
    /// `-c`/`--connection`: the connection type of hosts whose inventory
    /// and play say none (Ansible's precedence: host var, then the play's
    /// `connection:`, then the command line, then ssh).
    pub default_connection: Option<String>,
    /// `--persist SECS`: keep SSH masters alive this long after the run
    /// (a host's `baton_persist` var wins, as Ansible's host vars win over flags).
    pub persist: Option<Duration>,
}

type Slot = Arc<OnceCell<Result<Arc<Connection>, TransportError>>>;

pub struct Connections {
    options: ConnectOptions,
    slots: Mutex<HashMap<String, Slot>>,
    /// Locks by machine and name, for [`crate::modules::Step::Exclusive`].
    exclusive: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The machine a connection reaches: every `local` host is the controller;
/// SSH hosts are told apart by address and port (two inventory names for
/// one address share its files).
fn machine(spec: &ConnectionSpec) -> String {
    match spec.kind {
        ConnectionKind::Local => "local".to_string(),
        ConnectionKind::Ssh => format!("ssh {}:{}", spec.address, spec.port.unwrap_or(22)),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Build a connection spec from a host's vars. Play-level `connection:` and
/// `remote_user:` apply only where the inventory says nothing.
pub fn spec_for(
    host: &str,
    vars: &Map<String, Value>,
    play_connection: Option<&str>,
    play_user: Option<&str>,
    options: &ConnectOptions,
) -> Result<ConnectionSpec, InputError> {
    // A list, mapping or boolean where text belongs is refused, not read as
    // unset (a host meant to be `local` would be reached over ssh).
    for key in inventory::TEXT_CONNECTION_VARS {
        if let Some(value) = vars.get(*key).filter(|v| !inventory::is_text_value(v)) {
            return Err(InputError::plain(format!(
                "host `{host}`: {key} `{}` {}",
                inventory::shown(value),
                inventory::TEXT_REFUSAL
            ))
            .with_help(inventory::TEXT_HELP));
        }
    }
    let kind_text = text(connection_var(vars, "connection"))
        .or_else(|| play_connection.map(str::to_string))
        .or_else(|| options.default_connection.clone());
    let kind = match kind_text.as_deref() {
        Some("local" | "ansible.builtin.local" | "ansible.legacy.local") => ConnectionKind::Local,
        None => ConnectionKind::Ssh,
        Some(other) if crate::load::inventory::CONNECTIONS.contains(&other) => ConnectionKind::Ssh,
        Some(other) => {
            return Err(InputError::plain(format!(
                "host `{host}`: connection type `{other}` is not supported"
            ))
            .with_help(
                "baton connects with `ssh` or `local`; set ansible_connection to one of them",
            ))
        }
    };
    let mut spec = ConnectionSpec::local(host);
    spec.kind = kind;
    spec.connect_timeout = options.connect_timeout;
    spec.accept_new_host_keys = options.accept_new_host_keys;
    spec.address = text(connection_var(vars, "host"))
        .or_else(|| text(vars.get("ansible_ssh_host")))
        .unwrap_or_else(|| host.to_string());
    if let Some((key, port)) =
        inventory::connection_var_entry(vars, "port").filter(|(_, v)| v.as_str() != Some(""))
    {
        spec.port = Some(inventory::port_number(port).ok_or_else(|| {
            InputError::plain(format!(
                "host `{host}`: {key} `{}` {}",
                inventory::shown(port),
                inventory::PORT_REFUSAL
            ))
            .with_help(inventory::PORT_HELP)
        })?);
    }
    spec.user = text(connection_var(vars, "user"))
        .or_else(|| text(vars.get("ansible_ssh_user")))
        .or_else(|| play_user.map(str::to_string));
    spec.private_key = text(connection_var(vars, "ssh_private_key_file"))
        .or_else(|| text(vars.get("ansible_private_key_file")))
        .map(PathBuf::from);
    spec.known_hosts = text(connection_var(vars, "ssh_known_hosts_file")).map(PathBuf::from);
    spec.ssh_config = text(connection_var(vars, "ssh_config_file")).map(PathBuf::from);
    let persist = match vars.get("baton_persist") {
        None | Some(Value::Null) => options.persist,
        Some(value) => persist_secs(host, value)?,
    };
    spec.persist = match (kind, persist) {
        (ConnectionKind::Ssh, Some(idle)) => Some(crate::transport::Persist {
            idle,
            root: crate::transport::ssh::persist::default_root(),
        }),
        _ => None,
    };
    for key in ["ssh_common_args", "ssh_extra_args"] {
        if let Some(args) = text(connection_var(vars, key)) {
            apply_ssh_args(host, &args, &mut spec)?;
        }
    }
    // Checked for a local host too, as its port is: a bad value is a
    // mistake wherever it is written; it is only applied to ssh.
    apply_kex(host, vars.get("baton_ssh_kex"), &mut spec)?;
    Ok(spec)
}

/// The key exchanges `baton_ssh_kex: curve25519` allows: curve25519 only,
/// under both of OpenSSH's names for it.
pub const CURVE25519_KEX: &str = "curve25519-sha256,curve25519-sha256@libssh.org";

/// `baton_ssh_kex`: `default` (or unset) leaves the key exchange to ssh
/// and its config (OpenSSH 9.x: a post-quantum hybrid, sntrup761x25519 or
/// mlkem768x25519, first); `curve25519` asks for curve25519 only, which
/// costs less CPU per handshake but gives up the protection of the
/// post-quantum part. Opt-in only, per host: never chosen by baton itself,
/// never a fallback (a server without curve25519 refuses the connection,
/// "no matching key exchange method"), and it touches only KexAlgorithms,
/// never HostKeyAlgorithms, so strict host key checking is unchanged.
///
/// Errors: another value, or a KexAlgorithms already set in
/// `ansible_ssh_common_args`/`ansible_ssh_extra_args` (two answers to one
/// question).
fn apply_kex(
    host: &str,
    value: Option<&Value>,
    spec: &mut ConnectionSpec,
) -> Result<(), InputError> {
    let Some(value) = value else {
        return Ok(());
    };
    match inventory::kex_choice(value) {
        Some(false) => Ok(()),
        Some(true) if spec.kind == ConnectionKind::Local => Ok(()),
        Some(true) => {
            if spec
                .ssh_options
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("KexAlgorithms"))
            {
                return Err(InputError::plain(format!(
                    "host `{host}`: baton_ssh_kex and a KexAlgorithms in ansible_ssh_common_args/ansible_ssh_extra_args both choose the key exchange"
                ))
                .with_help("keep one of them"));
            }
            spec.ssh_options
                .push(("KexAlgorithms".into(), CURVE25519_KEX.into()));
            Ok(())
        }
        None => Err(InputError::plain(format!(
            "host `{host}`: baton_ssh_kex `{}` {}",
            inventory::shown(value),
            inventory::KEX_REFUSAL
        ))
        .with_help(inventory::KEX_HELP)),
    }
}

/// `baton_persist`: whole seconds from 0 (off) to a week.
fn persist_secs(host: &str, value: &Value) -> Result<Option<Duration>, InputError> {
    inventory::persist_secs(value).ok_or_else(|| {
        InputError::plain(format!(
            "host `{host}`: baton_persist `{}` {}",
            inventory::shown(value),
            inventory::PERSIST_REFUSAL
        ))
        .with_help(inventory::PERSIST_HELP)
    })
}

/// Honour the ssh options Ansible inventories commonly carry.
fn apply_ssh_args(host: &str, args: &str, spec: &mut ConnectionSpec) -> Result<(), InputError> {
    let words: Vec<String> = args
        .split_whitespace()
        .map(|w| w.trim_matches(['\'', '"']).to_string())
        .collect();
    let mut i = 0;
    let value_after = |i: &mut usize, flag: &str| -> Result<String, InputError> {
        *i += 1;
        words.get(*i).cloned().ok_or_else(|| {
            InputError::plain(format!("host `{host}`: ssh option {flag} needs a value"))
        })
    };
    while i < words.len() {
        let w = words[i].clone();
        let (flag, attached) = if w.len() > 2 && w.starts_with('-') && !w.starts_with("--") {
            (w[..2].to_string(), Some(w[2..].to_string()))
        } else {
            (w.clone(), None)
        };
        let val = |i: &mut usize| match &attached {
            Some(v) => Ok(v.clone()),
            None => value_after(i, &flag),
        };
        match flag.as_str() {
            "-o" => {
                let opt = val(&mut i)?;
                let (k, v) = opt
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .or_else(|| {
                        // `-o Key Value`
                        let next = words.get(i + 1).cloned()?;
                        i += 1;
                        Some((opt.clone(), next))
                    })
                    .ok_or_else(|| {
                        InputError::plain(format!(
                            "host `{host}`: ssh option `-o {opt}` needs Key=Value"
                        ))
                    })?;
                if k.eq_ignore_ascii_case("UserKnownHostsFile") {
                    spec.known_hosts = Some(PathBuf::from(&v));
                }
                spec.ssh_options.push((k, v));
            }
            "-F" => spec.ssh_config = Some(PathBuf::from(val(&mut i)?)),
            "-i" => spec.private_key = Some(PathBuf::from(val(&mut i)?)),
            "-p" => {
                let p = val(&mut i)?;
                spec.port = Some(p.parse().map_err(|_| {
                    InputError::plain(format!("host `{host}`: ssh -p `{p}` is not a port"))
                })?);
            }
            "-l" => spec.user = Some(val(&mut i)?),
            other => {
                return Err(InputError::plain(format!(
                "host `{host}`: ssh argument `{other}` is not supported in ansible_ssh_common_args"
            ))
                .with_help("baton honours -o Key=Value, -F FILE, -i KEY, -p PORT and -l USER"))
            }
        }
        i += 1;
    }
    Ok(())
}

impl Connections {
    pub fn new(options: ConnectOptions) -> Connections {
        Connections {
            options,
            slots: Mutex::new(HashMap::new()),
            exclusive: Mutex::new(HashMap::new()),
        }
    }

    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// The host's connection, opened on first use and shared afterwards.
    /// What opening it found worth saying (a persisted master from an
    /// earlier run that had died) goes to `reporter` as a warning, once.
    pub async fn get(
        &self,
        spec: &ConnectionSpec,
        reporter: &dyn Reporter,
    ) -> Result<Arc<Connection>, TransportError> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| TransportError::Other("connection table poisoned".into()))?;
            Arc::clone(slots.entry(spec.host_name.clone()).or_default())
        };
        let connection = slot
            .get_or_init(|| async { Connection::open(spec).await.map(Arc::new) })
            .await
            .clone()?;
        if let Some(message) = connection.take_note() {
            reporter.event(&Event::Warning {
                host: Some(spec.host_name.clone()),
                message,
            });
        }
        Ok(connection)
    }

    /// How many SSH connections are open (or being opened).
    pub fn open_ssh_count(&self) -> usize {
        self.slots
            .lock()
            .map(|slots| {
                slots
                    .values()
                    .filter(|slot| {
                        matches!(slot.get(), Some(Ok(c)) if c.is_ssh()) || slot.get().is_none()
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Whether `host` has an open connection (or one being opened).
    pub fn is_open(&self, host: &str) -> bool {
        self.slots
            .lock()
            .map(|slots| {
                slots
                    .get(host)
                    .is_some_and(|slot| !matches!(slot.get(), Some(Err(_))))
            })
            .unwrap_or(false)
    }

    /// The run's lock named `name` on the machine `spec` reaches, held until
    /// the guard is dropped; tasks wait for it in turn.
    pub async fn exclusive(
        &self,
        spec: &ConnectionSpec,
        name: &str,
    ) -> tokio::sync::OwnedMutexGuard<()> {
        let key = format!("{}\n{name}", machine(spec));
        let lock = match self.exclusive.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(key).or_default()),
            // A poisoned table (a panic elsewhere): no turn-taking, and the
            // node-side check still keeps every edit.
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        };
        lock.lock_owned().await
    }

    /// Forget a host's connection (after it proved dead), so nothing reuses it.
    pub fn forget(&self, host: &str) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(host);
        }
    }

    /// Close every connection, all at once. Before, the connections were
    /// never closed here (a clone of the slot's reference is never the last
    /// one) but dropped, each drop searching `/proc` for its master: 22 s
    /// at the end of a 100-host run on the loaded 2-core machine
    /// (`bench/twenty.yml`, 2026-11-30).
    pub async fn close_all(&self) {
        let slots: Vec<Slot> = match self.slots.lock() {
            Ok(mut s) => s.drain().map(|(_, v)| v).collect(),
            Err(_) => return,
        };
        // Each slot's own reference is the last one once the tasks are done
        // (a clone of it never is, so take it out of the slot).
        let connections: Vec<Connection> = slots
            .into_iter()
            .filter_map(|slot| Arc::try_unwrap(slot).ok()?.into_inner()?.ok())
            .filter_map(|conn| Arc::try_unwrap(conn).ok())
            .collect();
        Connection::close_all(connections).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts() -> ConnectOptions {
        ConnectOptions {
            connect_timeout: Duration::from_secs(5),
            accept_new_host_keys: false,
            default_connection: None,
            persist: None,
        }
    }

    #[test]
    fn baton_persist_wins_over_the_flag_and_is_checked() {
        let with = |v: Value| {
            let vars = json!({ "baton_persist": v });
            let mut o = opts();
            o.persist = Some(Duration::from_secs(30));
            spec_for("bc1", vars.as_object().unwrap(), None, None, &o)
        };
        let idle = |v: Value| with(v).unwrap().persist.map(|p| p.idle);
        assert_eq!(idle(json!(90)), Some(Duration::from_secs(90)));
        assert_eq!(idle(json!("120")), Some(Duration::from_secs(120)));
        assert_eq!(idle(json!(0)), None);
        assert_eq!(idle(Value::Null), Some(Duration::from_secs(30)));
        for bad in [json!(-1), json!(1.5), json!("soon"), json!(10_000_000)] {
            let e = with(bad.clone()).unwrap_err().to_string();
            assert!(e.contains("baton_persist"), "{bad}: {e}");
            // The range, not "is not a number of seconds" for -1 or 10^7.
            assert!(e.contains("from 0 to 604800"), "{bad}: {e}");
        }
        let local = json!({ "ansible_connection": "local", "baton_persist": 60 });
        let spec = spec_for("c", local.as_object().unwrap(), None, None, &opts()).unwrap();
        assert!(spec.persist.is_none());
    }

    #[test]
    fn curve25519_key_exchange_is_opt_in_and_touches_only_kex() {
        let spec = |vars: Value| spec_for("bc1", vars.as_object().unwrap(), None, None, &opts());
        let kex = |vars: Value| {
            spec(vars)
                .unwrap()
                .ssh_options
                .into_iter()
                .filter(|(k, _)| k == "KexAlgorithms")
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
        };
        // Never by default.
        assert!(kex(json!({})).is_empty());
        assert!(kex(json!({"baton_ssh_kex": "default"})).is_empty());
        assert_eq!(
            kex(json!({"baton_ssh_kex": "curve25519"})),
            [CURVE25519_KEX]
        );
        assert_eq!(
            kex(json!({"baton_ssh_kex": "Curve25519"})),
            [CURVE25519_KEX]
        );
        let chosen = spec(json!({"baton_ssh_kex": "curve25519"})).unwrap();
        assert!(!chosen
            .ssh_options
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("HostKeyAlgorithms")));
        assert!(!CURVE25519_KEX.contains("sntrup") && !CURVE25519_KEX.contains("diffie"));
        // A local host has no key exchange.
        let local = spec(json!({"ansible_connection": "local", "baton_ssh_kex": "curve25519"}));
        assert!(local.unwrap().ssh_options.is_empty());
        // ... but a bad value is refused there too, as a bad port is.
        let local = spec(json!({"ansible_connection": "local", "baton_ssh_kex": "fast"}));
        assert!(local
            .unwrap_err()
            .to_string()
            .contains("baton_ssh_kex `fast`"));
        let local = spec(json!({"ansible_connection": "local", "ansible_port": 0}));
        assert!(local.unwrap_err().to_string().contains("ansible_port `0`"));
        for bad in [json!("sntrup"), json!(true), json!("curve")] {
            let e = spec(json!({ "baton_ssh_kex": bad }))
                .unwrap_err()
                .to_string();
            assert!(e.contains("baton_ssh_kex"), "{bad}: {e}");
        }
        let both = spec(json!({
            "baton_ssh_kex": "curve25519",
            "ansible_ssh_common_args": "-o KexAlgorithms=diffie-hellman-group14-sha256"
        }));
        assert!(both.unwrap_err().to_string().contains("both choose"));
    }

    #[test]
    fn a_list_mapping_or_boolean_where_text_belongs_is_refused_not_unset() {
        for (key, value) in [
            ("ansible_connection", json!(["local"])),
            ("ansible_connection", json!({"a": "local"})),
            ("ansible_host", json!(true)),
            ("baton_user", json!(["ops"])),
        ] {
            let vars = json!({ key: value });
            let e = spec_for("h", vars.as_object().unwrap(), None, None, &opts())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("host `h`: {key} `")), "{e}");
            assert!(
                e.ends_with("is not text (a list, a mapping or a boolean)"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_bad_port_is_named_by_the_key_it_was_written_under() {
        for key in ["baton_port", "ansible_port", "ansible_ssh_port"] {
            let vars = json!({ key: "ssh" });
            let e = spec_for("bc1", vars.as_object().unwrap(), None, None, &opts())
                .unwrap_err()
                .to_string();
            assert_eq!(e, format!("host `bc1`: {key} `ssh` is not a port number"));
        }
    }

    #[test]
    fn legacy_spellings_of_the_builtin_connections_are_taken() {
        let kind = |name: &str| {
            let vars = json!({ "ansible_connection": name });
            spec_for("h", vars.as_object().unwrap(), None, None, &opts())
                .unwrap()
                .kind
        };
        assert_eq!(kind("ansible.legacy.local"), ConnectionKind::Local);
        assert_eq!(kind("ansible.legacy.ssh"), ConnectionKind::Ssh);
        assert_eq!(kind("ansible.builtin.local"), ConnectionKind::Local);
    }

    #[test]
    fn reads_ansible_and_baton_keys() {
        let vars = json!({
            "ansible_host": "10.77.0.11", "ansible_port": 2222, "ansible_user": "root",
            "ansible_ssh_private_key_file": "/k", "baton_user": "ops",
            "ansible_ssh_common_args": "-o UserKnownHostsFile=/lab/known_hosts -o StrictHostKeyChecking=yes -F /lab/ssh_config"
        });
        let spec = spec_for("bc1", vars.as_object().unwrap(), None, None, &opts()).unwrap();
        assert_eq!(spec.kind, ConnectionKind::Ssh);
        assert_eq!(spec.address, "10.77.0.11");
        assert_eq!(spec.port, Some(2222));
        assert_eq!(spec.user.as_deref(), Some("ops"));
        assert_eq!(spec.known_hosts, Some(PathBuf::from("/lab/known_hosts")));
        assert_eq!(spec.ssh_config, Some(PathBuf::from("/lab/ssh_config")));
        assert_eq!(spec.ssh_options.len(), 2);
    }

    #[test]
    fn rejects_unknown_connection_and_bad_port() {
        let bad = json!({"ansible_connection": "docker"});
        assert!(spec_for("h", bad.as_object().unwrap(), None, None, &opts())
            .unwrap_err()
            .message
            .contains("`docker`"));
        let bad = json!({"ansible_port": "ssh"});
        assert!(spec_for("h", bad.as_object().unwrap(), None, None, &opts()).is_err());
        let local = json!({});
        assert_eq!(
            spec_for(
                "h",
                local.as_object().unwrap(),
                Some("local"),
                None,
                &opts()
            )
            .unwrap()
            .kind,
            ConnectionKind::Local
        );
    }

    #[test]
    fn the_command_line_connection_yields_to_host_vars_and_the_play() {
        let cli_local = ConnectOptions {
            default_connection: Some("local".into()),
            ..opts()
        };
        let none = json!({});
        let none = none.as_object().unwrap();
        let kind = |vars, play| spec_for("h", vars, play, None, &cli_local).unwrap().kind;
        assert_eq!(kind(none, None), ConnectionKind::Local);
        assert_eq!(kind(none, Some("ssh")), ConnectionKind::Ssh);
        let host_ssh = json!({"ansible_connection": "ssh"});
        assert_eq!(
            kind(host_ssh.as_object().unwrap(), None),
            ConnectionKind::Ssh
        );
        assert_eq!(
            spec_for("h", none, None, None, &opts()).unwrap().kind,
            ConnectionKind::Ssh
        );
    }
}

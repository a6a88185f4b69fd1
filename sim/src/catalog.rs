//! The hub catalog: the simulator's stand-in for the catalog tables of the hub database. The
//! install playbook writes it as plain files under `$HVR_CONFIG/hubs/<hub>/`:
//!
//! ```text
//! hub.conf                optional: scheduler_port=4341
//! locations/<name>.loc    node=<address>  port=<hvrremotelistener port, default 4343>
//! channels/<name>.chn     capture=<location>  integrate=<location> (one or more lines)
//! ```
//!
//! hvrfailover's naming rule: every location on one BC node ends with 1, on the other with 2;
//! a channel captures from this node's location and integrates into the other node's, and has
//! the same name, mirrored, in both hubs. Extra (disaster recovery) integrate locations carry
//! this hub's own suffix.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Context, SimError, SimResult};
use crate::fsutil::parse_key_values;
use crate::paths::{check_name, Layout};
use crate::settings::{self, DEFAULT_LISTENER_PORT, DEFAULT_SCHEDULER_PORT};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub name: String,
    pub node: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub capture: String,
    pub integrate: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Hub {
    pub name: String,
    pub dir: PathBuf,
    catalog_scheduler_port: Option<u16>,
    pub locations: BTreeMap<String, Location>,
    pub channels: BTreeMap<String, Channel>,
}

impl Hub {
    pub fn load(layout: &Layout, name: &str) -> SimResult<Hub> {
        check_name("hub database", name)?;
        let dir = layout.hub_dir(name);
        if !dir.is_dir() {
            return Err(SimError::usage(format!(
                "hub database {name:?} not found: no catalog directory {}",
                dir.display()
            )));
        }
        let mut catalog_scheduler_port = None;
        let conf = dir.join("hub.conf");
        if conf.exists() {
            for (key, value) in read_pairs(&conf)? {
                match key.as_str() {
                    "scheduler_port" => catalog_scheduler_port = Some(parse_port(&conf, &value)?),
                    _ => return Err(unknown_key(&conf, &key, "scheduler_port")),
                }
            }
        }
        let mut locations = BTreeMap::new();
        for (loc_name, path) in definitions(&dir.join("locations"), "loc")? {
            let mut node = None;
            let mut port = DEFAULT_LISTENER_PORT;
            for (key, value) in read_pairs(&path)? {
                match key.as_str() {
                    "node" if !value.is_empty() => node = Some(value),
                    "port" => port = parse_port(&path, &value)?,
                    _ => return Err(unknown_key(&path, &key, "node, port")),
                }
            }
            let node = node.ok_or_else(|| {
                SimError::usage(format!("{}: node=<address> is required", path.display()))
            })?;
            locations.insert(
                loc_name.clone(),
                Location {
                    name: loc_name,
                    node,
                    port,
                },
            );
        }
        let mut channels = BTreeMap::new();
        for (chn_name, path) in definitions(&dir.join("channels"), "chn")? {
            let mut capture = Vec::new();
            let mut integrate = Vec::new();
            for (key, value) in read_pairs(&path)? {
                let names = value.split(',').map(str::trim).filter(|v| !v.is_empty());
                match key.as_str() {
                    "capture" => capture.extend(names.map(String::from)),
                    "integrate" => integrate.extend(names.map(String::from)),
                    _ => return Err(unknown_key(&path, &key, "capture, integrate")),
                }
            }
            let [capture] = <[String; 1]>::try_from(capture).map_err(|found| {
                SimError::usage(format!(
                    "{}: exactly one capture=<location> is required, found {}",
                    path.display(),
                    found.len()
                ))
            })?;
            if integrate.is_empty() {
                return Err(SimError::usage(format!(
                    "{}: at least one integrate=<location> is required",
                    path.display()
                )));
            }
            for location in std::iter::once(&capture).chain(&integrate) {
                if !locations.contains_key(location) {
                    return Err(SimError::usage(format!(
                        "{}: location {location:?} is not defined (no {}/locations/{location}.loc)",
                        path.display(),
                        dir.display()
                    )));
                }
            }
            if integrate.contains(&capture) {
                return Err(SimError::usage(format!(
                    "{}: location {capture:?} is both capture and integrate location",
                    path.display()
                )));
            }
            channels.insert(
                chn_name.clone(),
                Channel {
                    name: chn_name,
                    capture,
                    integrate,
                },
            );
        }
        Ok(Hub {
            name: name.to_string(),
            dir,
            catalog_scheduler_port,
            locations,
            channels,
        })
    }

    pub fn channel(&self, name: &str) -> SimResult<&Channel> {
        self.channels.get(name).ok_or_else(|| {
            SimError::usage(format!(
                "channel {name:?} is not defined in hub {} (defined: {})",
                self.name,
                self.channels.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// A location of `channel`, as `-r`/`-l` of hvrrefresh and hvrcompare name it.
    pub fn channel_location(&self, channel: &Channel, name: &str) -> SimResult<&Location> {
        if channel.capture != name && !channel.integrate.iter().any(|l| l == name) {
            return Err(SimError::usage(format!(
                "location {name:?} is not a location of channel {} (capture {}, integrate {})",
                channel.name,
                channel.capture,
                channel.integrate.join(",")
            )));
        }
        self.locations
            .get(name)
            .ok_or_else(|| SimError::usage(format!("location {name:?} is not defined")))
    }

    /// `HVR_SCHEDULER_PORT`, else the catalog's `scheduler_port`, else 4341.
    pub fn scheduler_port(&self) -> SimResult<u16> {
        Ok(settings::scheduler_port_override()?
            .or(self.catalog_scheduler_port)
            .unwrap_or(DEFAULT_SCHEDULER_PORT))
    }

    /// Everything that breaks hvrfailover's naming rule; empty when the hub conforms.
    pub fn naming_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.channels.is_empty() {
            problems.push(format!("hub {} defines no channels", self.name));
        }
        let mut own_suffixes = Vec::new();
        for channel in self.channels.values() {
            let Some(own) = bc_suffix(&channel.capture) else {
                problems.push(format!(
                    "channel {}: capture location {} must end with 1 or 2 (the BC node's suffix)",
                    channel.name, channel.capture
                ));
                continue;
            };
            if !own_suffixes.contains(&own) {
                own_suffixes.push(own);
            }
            let peer = other_suffix(own);
            let peers: Vec<&String> = channel
                .integrate
                .iter()
                .filter(|l| bc_suffix(l) == Some(peer))
                .collect();
            if peers.len() != 1 {
                problems.push(format!(
                    "channel {}: must integrate into exactly one location on the other BC node \
                     (suffix {peer}), found {}",
                    channel.name,
                    peers.len()
                ));
            }
            for location in &channel.integrate {
                if bc_suffix(location).is_none() {
                    problems.push(format!(
                        "channel {}: integrate location {location} must end with 1 or 2",
                        channel.name
                    ));
                }
            }
        }
        if own_suffixes.len() > 1 {
            problems.push(format!(
                "hub {}: capture locations end with both 1 and 2; all locations of one BC node \
                 must share one suffix",
                self.name
            ));
        }
        problems
    }

    /// The channel definitions with this node's suffix written `<self>` and the other node's
    /// `<peer>`: identical text on both BC nodes when the hubs are mirrored correctly.
    pub fn canonical_channels(&self) -> String {
        let mut text = String::from(
            "# channel definitions (HVR simulator canonical form: suffix of this node = <self>, other node = <peer>)\n",
        );
        for channel in self.channels.values() {
            let own = bc_suffix(&channel.capture);
            let relative = |location: &str| -> String {
                match (own, bc_suffix(location)) {
                    (Some(own), Some(s)) => {
                        let base = &location[..location.len() - 1];
                        format!("{base}{}", if s == own { "<self>" } else { "<peer>" })
                    }
                    _ => location.to_string(),
                }
            };
            let mut integrate: Vec<String> =
                channel.integrate.iter().map(|l| relative(l)).collect();
            integrate.sort_by_key(|l| (!l.ends_with("<peer>"), l.clone()));
            text.push_str(&format!(
                "channel {} capture={} integrate={}\n",
                channel.name,
                relative(&channel.capture),
                integrate.join(",")
            ));
        }
        text
    }
}

fn bc_suffix(location: &str) -> Option<char> {
    location.chars().last().filter(|c| matches!(c, '1' | '2'))
}

fn other_suffix(suffix: char) -> char {
    if suffix == '1' {
        '2'
    } else {
        '1'
    }
}

fn read_pairs(path: &Path) -> SimResult<Vec<(String, String)>> {
    let text = fs::read_to_string(path).context(|| format!("reading {}", path.display()))?;
    parse_key_values(&text).map_err(|e| SimError::usage(format!("{}: {e}", path.display())))
}

fn parse_port(path: &Path, value: &str) -> SimResult<u16> {
    value
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| SimError::usage(format!("{}: {value:?} is not a TCP port", path.display())))
}

fn unknown_key(path: &Path, key: &str, known: &str) -> SimError {
    SimError::usage(format!(
        "{}: unknown setting {key:?} (known: {known})",
        path.display()
    ))
}

/// `<name>.<ext>` files of a catalog directory, by name.
fn definitions(dir: &Path, ext: &str) -> SimResult<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(|| format!("listing {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(ext) {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(String::from) else {
            continue;
        };
        check_name("catalog object", &name)?;
        out.push((name, path));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    /// Writes a hub whose locations on this node end with `own`.
    fn write_hub(config: &Path, hub: &str, own: char, extra: &[(&str, &str)]) {
        let peer = other_suffix(own);
        let dir = config.join("hubs").join(hub);
        fs::create_dir_all(dir.join("locations")).unwrap();
        fs::create_dir_all(dir.join("channels")).unwrap();
        fs::write(dir.join("locations/db1.loc"), "node=10.0.0.1\nport=4343\n").unwrap();
        fs::write(dir.join("locations/db2.loc"), "node=10.0.0.2\n").unwrap();
        fs::write(
            dir.join("channels/orders.chn"),
            format!("# mirrored channel\ncapture=db{own}\nintegrate=db{peer}\n"),
        )
        .unwrap();
        for (path, text) in extra {
            fs::write(dir.join(path), text).unwrap();
        }
    }

    #[test]
    fn loads_locations_channels_and_ports() {
        let tmp = TempDir::new("catalog-load");
        write_hub(
            tmp.path(),
            "hubdb",
            '1',
            &[("hub.conf", "scheduler_port=5341\n")],
        );
        let hub = Hub::load(&Layout::at(tmp.path()), "hubdb").unwrap();
        assert_eq!(hub.locations["db2"].port, DEFAULT_LISTENER_PORT);
        assert_eq!(hub.locations["db1"].node, "10.0.0.1");
        let channel = hub.channel("orders").unwrap();
        assert_eq!(channel.capture, "db1");
        assert_eq!(channel.integrate, vec!["db2".to_string()]);
        assert_eq!(hub.catalog_scheduler_port, Some(5341));
        assert!(
            hub.naming_problems().is_empty(),
            "{:?}",
            hub.naming_problems()
        );
        assert!(hub.channel("nope").is_err());
        assert!(hub.channel_location(channel, "db2").is_ok());
    }

    #[test]
    fn mirrored_hubs_have_the_same_canonical_form() {
        let tmp = TempDir::new("catalog-mirror");
        let node1 = tmp.path().join("n1");
        let node2 = tmp.path().join("n2");
        write_hub(
            &node1,
            "hubdb",
            '1',
            &[("locations/dr1.loc", "node=10.0.0.9\n")],
        );
        write_hub(
            &node2,
            "hubdb",
            '2',
            &[("locations/dr2.loc", "node=10.0.0.9\n")],
        );
        fs::write(
            node1.join("hubs/hubdb/channels/orders.chn"),
            "capture=db1\nintegrate=dr1,db2\n",
        )
        .unwrap();
        fs::write(
            node2.join("hubs/hubdb/channels/orders.chn"),
            "capture=db2\nintegrate=db1\nintegrate=dr2\n",
        )
        .unwrap();
        let hub1 = Hub::load(&Layout::at(&node1), "hubdb").unwrap();
        let hub2 = Hub::load(&Layout::at(&node2), "hubdb").unwrap();
        assert!(
            hub1.naming_problems().is_empty(),
            "{:?}",
            hub1.naming_problems()
        );
        assert_eq!(hub1.canonical_channels(), hub2.canonical_channels());
        assert!(hub1
            .canonical_channels()
            .contains("channel orders capture=db<self> integrate=db<peer>,dr<self>"));
    }

    #[test]
    fn drift_between_hubs_shows_in_the_canonical_form() {
        let tmp = TempDir::new("catalog-drift");
        let node1 = tmp.path().join("n1");
        let node2 = tmp.path().join("n2");
        write_hub(&node1, "hubdb", '1', &[]);
        write_hub(
            &node2,
            "hubdb",
            '2',
            &[("channels/extra.chn", "capture=db2\nintegrate=db1\n")],
        );
        let hub1 = Hub::load(&Layout::at(&node1), "hubdb").unwrap();
        let hub2 = Hub::load(&Layout::at(&node2), "hubdb").unwrap();
        assert_ne!(hub1.canonical_channels(), hub2.canonical_channels());
    }

    #[test]
    fn naming_rule_violations_are_reported() {
        let tmp = TempDir::new("catalog-naming");
        write_hub(
            tmp.path(),
            "hubdb",
            '1',
            &[
                ("locations/dbx.loc", "node=10.0.0.3\n"),
                ("channels/bad.chn", "capture=dbx\nintegrate=db2\n"),
                ("channels/both.chn", "capture=db2\nintegrate=db1\n"),
                ("channels/nopeer.chn", "capture=db1\nintegrate=dbx\n"),
            ],
        );
        let hub = Hub::load(&Layout::at(tmp.path()), "hubdb").unwrap();
        let problems = hub.naming_problems().join("\n");
        assert!(
            problems.contains("channel bad: capture location dbx must end with 1 or 2"),
            "{problems}"
        );
        assert!(problems.contains("both 1 and 2"), "{problems}");
        assert!(
            problems.contains("channel nopeer: must integrate into exactly one location"),
            "{problems}"
        );
    }

    #[test]
    fn structural_errors_name_the_file() {
        let tmp = TempDir::new("catalog-errors");
        let layout = Layout::at(tmp.path());
        assert!(Hub::load(&layout, "missing")
            .unwrap_err()
            .message()
            .contains("not found"));
        write_hub(
            tmp.path(),
            "h1",
            '1',
            &[("channels/x.chn", "capture=db1\nintegrate=nowhere2\n")],
        );
        let err = Hub::load(&layout, "h1").unwrap_err();
        assert!(
            err.message().contains("x.chn") && err.message().contains("nowhere2"),
            "{err}"
        );
        write_hub(
            tmp.path(),
            "h2",
            '1',
            &[("locations/db1.loc", "node=a\nprot=1\n")],
        );
        assert!(Hub::load(&layout, "h2")
            .unwrap_err()
            .message()
            .contains("prot"));
        write_hub(
            tmp.path(),
            "h3",
            '1',
            &[(
                "channels/y.chn",
                "capture=db1\ncapture=db2\nintegrate=db2\n",
            )],
        );
        assert!(Hub::load(&layout, "h3")
            .unwrap_err()
            .message()
            .contains("exactly one capture"));
    }
}

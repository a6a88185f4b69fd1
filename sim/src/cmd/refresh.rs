//! hvrrefresh (make a target location's table identical to a source's) and hvrcompare.

use std::time::Duration;

use super::CommandSpec;
use crate::args::{self, Kind, Parsed};
use crate::catalog::{Hub, Location};
use crate::database::Rows;
use crate::error::{exit, SimError, SimResult};
use crate::hubproto::{connect_listener, HubBackend};
use crate::paths::Layout;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const LISTED_KEYS: usize = 20;

pub const HVRREFRESH: CommandSpec = CommandSpec {
    name: "hvrrefresh",
    summary: "make a target location's table identical to a source location's",
    usage: "\
Usage: hvrrefresh -rSRC -lTGT [-gb|-gr] HUBDB CHN

Reads the table of location SRC and makes the table of location TGT identical (HVR
simulator): rows are inserted, updated and deleted in TGT, marked as refresh changes so they
are never captured and replicated back. Both locations must belong to channel CHN; they are
reached through their nodes' hvrremotelistener as defined in the hub catalog. Prints the
number of rows changed. -g (bulk or row-wise) is accepted; the simulator has one method.
Not an online refresh: changes integrated into TGT while it runs may be overwritten, so
refresh when SRC is quiet or the lag exceeds the refresh time.
",
    link: true,
    run: hvrrefresh,
};

pub const HVRCOMPARE: CommandSpec = CommandSpec {
    name: "hvrcompare",
    summary: "compare two locations' tables; exit 0 only when identical",
    usage: "\
Usage: hvrcompare -rSRC -lTGT [-gb|-gr] [-v] HUBDB CHN

Compares the tables of locations SRC and TGT of channel CHN (HVR simulator). Prints
'N rows differ' and the differing keys (the first 20, all with -v). Exit 0 only when the
tables are identical, 1 when they differ or cannot be read.
",
    link: true,
    run: hvrcompare,
};

struct Pair<'a> {
    hub: String,
    channel: String,
    source: &'a Location,
    target: &'a Location,
}

fn parse(args: &[String], extra: &[(char, Kind)]) -> SimResult<(Parsed, Layout, Hub)> {
    let mut spec = vec![('r', Kind::Value), ('l', Kind::Value), ('g', Kind::Value)];
    spec.extend_from_slice(extra);
    let parsed = args::parse(args, &spec)?;
    if let Some(method) = parsed.value('g')? {
        if method != "b" && method != "r" {
            return Err(SimError::usage(format!(
                "-g{method}: use -gb (bulk) or -gr (row-wise)"
            )));
        }
    }
    let layout = Layout::from_env()?;
    let [hub_name, _] = parsed.exact_operands(["HUBDB", "CHN"])?;
    let hub = Hub::load(&layout, hub_name)?;
    Ok((parsed, layout, hub))
}

fn pair<'a>(parsed: &Parsed, hub: &'a Hub) -> SimResult<Pair<'a>> {
    let [_, channel_name] = parsed.exact_operands(["HUBDB", "CHN"])?;
    let channel = hub.channel(channel_name)?;
    let source = parsed
        .value('r')?
        .ok_or_else(|| SimError::usage("-rSRC (the location to read) is required"))?;
    let target = parsed
        .value('l')?
        .ok_or_else(|| SimError::usage("-lTGT (the target location) is required"))?;
    if source == target {
        return Err(SimError::usage(format!(
            "-r and -l both name location {source}"
        )));
    }
    Ok(Pair {
        hub: hub.name.clone(),
        channel: channel.name.clone(),
        source: hub.channel_location(channel, source)?,
        target: hub.channel_location(channel, target)?,
    })
}

fn dump(location: &Location) -> SimResult<Rows> {
    let label = format!(
        "location {} ({}:{})",
        location.name, location.node, location.port
    );
    connect_listener(&location.node, location.port, CONNECT_TIMEOUT, &label)?.dump()
}

fn hvrrefresh(args: &[String]) -> SimResult<u8> {
    let (parsed, _layout, hub) = parse(args, &[])?;
    let pair = pair(&parsed, &hub)?;
    let rows = dump(pair.source)?;
    let target = pair.target;
    let label = format!("location {} ({}:{})", target.name, target.node, target.port);
    let stats =
        connect_listener(&target.node, target.port, CONNECT_TIMEOUT, &label)?.replace(&rows)?;
    println!(
        "hvrrefresh (HVR simulator): channel {} of hub {}: refreshed {} from {}: {} rows changed \
         ({} inserted, {} updated, {} deleted); {} now has {} rows",
        pair.channel,
        pair.hub,
        target.name,
        pair.source.name,
        stats.changed(),
        stats.inserted,
        stats.updated,
        stats.deleted,
        target.name,
        rows.len()
    );
    Ok(exit::OK)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Difference {
    pub only_in_source: Vec<String>,
    pub only_in_target: Vec<String>,
    pub different: Vec<String>,
}

impl Difference {
    pub fn total(&self) -> usize {
        self.only_in_source.len() + self.only_in_target.len() + self.different.len()
    }
}

pub fn diff(source: &Rows, target: &Rows) -> Difference {
    let mut difference = Difference::default();
    for (key, value) in source {
        match target.get(key) {
            None => difference.only_in_source.push(key.clone()),
            Some(other) if other != value => difference.different.push(key.clone()),
            Some(_) => {}
        }
    }
    difference.only_in_target = target
        .keys()
        .filter(|k| !source.contains_key(*k))
        .cloned()
        .collect();
    difference
}

fn hvrcompare(args: &[String]) -> SimResult<u8> {
    let (parsed, _layout, hub) = parse(args, &[('v', Kind::Flag)])?;
    let pair = pair(&parsed, &hub)?;
    let source_rows = dump(pair.source)?;
    let target_rows = dump(pair.target)?;
    let difference = diff(&source_rows, &target_rows);
    let (src, tgt) = (&pair.source.name, &pair.target.name);
    println!(
        "hvrcompare (HVR simulator): channel {} of hub {}: {src} ({} rows) vs {tgt} ({} rows)",
        pair.channel,
        pair.hub,
        source_rows.len(),
        target_rows.len()
    );
    let total = difference.total();
    if total == 0 {
        println!("0 rows differ: {src} and {tgt} are identical");
        return Ok(exit::OK);
    }
    println!(
        "{total} rows differ (only in {src}: {}, only in {tgt}: {}, different values: {})",
        difference.only_in_source.len(),
        difference.only_in_target.len(),
        difference.different.len()
    );
    let limit = if parsed.flag('v') {
        usize::MAX
    } else {
        LISTED_KEYS
    };
    let listed = difference
        .only_in_source
        .iter()
        .map(|k| format!("only in {src}: {k}"))
        .chain(
            difference
                .only_in_target
                .iter()
                .map(|k| format!("only in {tgt}: {k}")),
        )
        .chain(
            difference
                .different
                .iter()
                .map(|k| format!("different value: {k}")),
        );
    for line in listed.take(limit) {
        println!("  {line}");
    }
    if total > limit {
        println!("  ... and {} more (-v lists all)", total - limit);
    }
    Ok(exit::FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Rows {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn diff_classifies_every_difference() {
        let source = rows(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let target = rows(&[("b", "2"), ("c", "x"), ("d", "4")]);
        let difference = diff(&source, &target);
        assert_eq!(difference.only_in_source, vec!["a"]);
        assert_eq!(difference.only_in_target, vec!["d"]);
        assert_eq!(difference.different, vec!["c"]);
        assert_eq!(difference.total(), 3);
        assert_eq!(diff(&source, &source).total(), 0);
    }
}

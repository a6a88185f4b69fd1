//! hvrrefresh (make a target location's table identical to a source's) and hvrcompare.

use std::time::Duration;

use super::CommandSpec;
use crate::args::{self, Kind, Parsed};
use crate::catalog::{Hub, Location};
use crate::database::Rows;
use crate::error::{exit, SimError, SimResult};
use crate::fsutil::write_atomic;
use crate::hubproto::{connect_listener, HubBackend};
use crate::paths::Layout;
use crate::timefmt::{format_utc_diff, now_ms};
use std::path::PathBuf;

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

/// The simulated DBMS's one table, as hvrcompare names it (diff files, SQL).
pub const TABLE: &str = "simtable";

pub const HVRCOMPARE: CommandSpec = CommandSpec {
    name: "hvrcompare",
    summary: "compare two locations' tables; exit 0 only when identical",
    usage: "\
Usage: hvrcompare -rSRC -lTGT [-gb|-gr] [-v] [-e] HUBDB CHN

Compares the table (simtable) of locations SRC and TGT of channel CHN (HVR simulator), as
HVR 5's hvrcompare (https://fivetran.com/docs/hvr5/commands/hvrcompare):
  -gb  bulk (the default): one checksum per table; says identical or not
  -gr  row by row: counts and lists the differing keys (the first 20)
  -v   with -gr: every difference, as the SQL statement that brings TGT in line with SRC
       (insert: only in SRC; delete: only in TGT; update: different value)
  -e   with -gr -v: an event-driven compare, which writes a diff file for a table that
       differs, in $HVR_CONFIG/diff/HUBDB/CHN/, named
       CHN-cmp-SRC-TGT_<yyyy-mm-dd_hh-mm-ss_mmmZ>_<table>_<5 letters>.diff, holding the same
       SQL statements (https://fivetran.com/docs/hvr5/advanced-operations/analyzing-diff-file);
       no file when the tables are identical
Exit 0 when identical, 1 when they differ or cannot be read (HVR 5 documents no exit codes).
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
    let (parsed, layout, hub) = parse(args, &[('v', Kind::Flag), ('e', Kind::Flag)])?;
    let pair = pair(&parsed, &hub)?;
    let row_by_row = parsed.value('g')? == Some("r");
    let verbose = parsed.flag('v');
    let event = parsed.flag('e');
    if (verbose || event) && !row_by_row {
        return Err(SimError::usage(
            "-v and -e go with a row-by-row compare (-gr)",
        ));
    }
    if event && !verbose {
        return Err(SimError::usage(
            "-e writes diff files only with -v (-gr -v -e)",
        ));
    }
    let source_rows = dump(pair.source)?;
    let target_rows = dump(pair.target)?;
    let difference = diff(&source_rows, &target_rows);
    let (src, tgt) = (&pair.source.name, &pair.target.name);
    println!(
        "hvrcompare (HVR simulator): channel {} of hub {}: table {TABLE}: {src} ({} rows) vs {tgt} ({} rows)",
        pair.channel,
        pair.hub,
        source_rows.len(),
        target_rows.len()
    );
    let total = difference.total();
    if total == 0 {
        println!("table {TABLE}: identical");
        return Ok(exit::OK);
    }
    if !row_by_row {
        println!("table {TABLE}: different (bulk checksums differ)");
        return Ok(exit::FAILED);
    }
    println!(
        "table {TABLE}: {total} rows differ (only in {src}: {}, only in {tgt}: {}, different values: {})",
        difference.only_in_source.len(),
        difference.only_in_target.len(),
        difference.different.len()
    );
    if !verbose {
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
        for line in listed.take(LISTED_KEYS) {
            println!("  {line}");
        }
        if total > LISTED_KEYS {
            println!("  ... and {} more (-v lists all)", total - LISTED_KEYS);
        }
        return Ok(exit::FAILED);
    }
    let sql = sql_statements(&difference, &source_rows);
    print!("{sql}");
    if event {
        let path = write_diff_file(&layout, &pair, &sql)?;
        println!("diff file: {}", path.display());
    }
    Ok(exit::FAILED)
}

/// Quotes an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements that bring the target in line with the source, one per line: inserts for rows
/// only in the source, deletes for rows only in the target, updates for different values.
pub fn sql_statements(difference: &Difference, source: &Rows) -> String {
    let mut sql = String::new();
    let value = |key: &String| source.get(key).map(String::as_str).unwrap_or_default();
    for key in &difference.only_in_source {
        sql.push_str(&format!(
            "insert into {TABLE} (k, v) values ({}, {});\n",
            literal(key),
            literal(value(key))
        ));
    }
    for key in &difference.only_in_target {
        sql.push_str(&format!(
            "delete from {TABLE} where k = {};\n",
            literal(key)
        ));
    }
    for key in &difference.different {
        sql.push_str(&format!(
            "update {TABLE} set v = {} where k = {};\n",
            literal(value(key)),
            literal(key)
        ));
    }
    sql
}

fn write_diff_file(layout: &Layout, pair: &Pair, sql: &str) -> SimResult<PathBuf> {
    let dir = layout
        .config()
        .join("diff")
        .join(&pair.hub)
        .join(&pair.channel);
    // Five letters, as in the documented example name; from the clock and the pid, so two
    // compares in the same millisecond still get different names.
    let mut seed = now_ms() ^ (u64::from(std::process::id()) << 20);
    let letters: String = (0..5)
        .map(|_| {
            let c = (seed % 52) as u8;
            seed /= 52;
            if c < 26 {
                (b'a' + c) as char
            } else {
                (b'A' + c - 26) as char
            }
        })
        .collect();
    let name = format!(
        "{}-cmp-{}-{}_{}_{TABLE}_{letters}.diff",
        pair.channel,
        pair.source.name,
        pair.target.name,
        format_utc_diff(now_ms())
    );
    let path = dir.join(name);
    write_atomic(&path, sql.as_bytes())?;
    Ok(path)
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

    #[test]
    fn sql_brings_the_target_in_line_and_quotes_literals() {
        let source = rows(&[("a", "it's"), ("c", "3")]);
        let target = rows(&[("c", "x"), ("d", "4")]);
        let sql = sql_statements(&diff(&source, &target), &source);
        assert_eq!(
            sql,
            "insert into simtable (k, v) values ('a', 'it''s');\n\
             delete from simtable where k = 'd';\n\
             update simtable set v = '3' where k = 'c';\n"
        );
    }
}

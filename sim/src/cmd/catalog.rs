//! `hvrsim catalog check|show HUBDB`: validate the hub catalog and print it in a form that
//! can be compared between the two BC nodes.

use super::CommandSpec;
use crate::args;
use crate::catalog::Hub;
use crate::error::{exit, SimError, SimResult};
use crate::paths::Layout;

pub const CATALOG: CommandSpec = CommandSpec {
    name: "catalog",
    summary: "check a hub catalog's naming rule and print its channels canonically",
    usage: "\
Usage: hvrsim catalog check HUBDB
       hvrsim catalog show HUBDB

check validates the hub catalog under $HVR_CONFIG/hubs/HUBDB (HVR simulator): every
location and channel file parses, and hvrfailover's naming rule holds (this node's locations
end with 1 or 2, the other node's with the other digit, each channel captures here and
integrates into exactly one location there). It prints the channel definitions with the
suffixes replaced by <self> and <peer>: the output is identical on both BC nodes when their
hubs are mirrored, so comparing it detects drift. Problems go to stderr; exit 1 if any.

show prints the locations and channels as defined.
",
    link: false,
    run: catalog,
};

fn catalog(args: &[String]) -> SimResult<u8> {
    let parsed = args::parse(args, &[])?;
    let [action, hub_name] = parsed.exact_operands(["check|show", "HUBDB"])?;
    let layout = Layout::from_env()?;
    let hub = Hub::load(&layout, hub_name)?;
    match action {
        "check" => {
            print!("{}", hub.canonical_channels());
            let problems = hub.naming_problems();
            for problem in &problems {
                eprintln!("catalog (HVR simulator): {problem}");
            }
            Ok(if problems.is_empty() {
                exit::OK
            } else {
                exit::FAILED
            })
        }
        "show" => {
            println!("hub {} scheduler_port={}", hub.name, hub.scheduler_port()?);
            for location in hub.locations.values() {
                println!(
                    "location {} node={} port={}",
                    location.name, location.node, location.port
                );
            }
            for channel in hub.channels.values() {
                println!(
                    "channel {} capture={} integrate={}",
                    channel.name,
                    channel.capture,
                    channel.integrate.join(",")
                );
            }
            Ok(exit::OK)
        }
        other => Err(SimError::usage(format!(
            "unknown catalog action {other:?} (check or show)"
        ))),
    }
}

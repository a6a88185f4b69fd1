//! `baton lab`: a local network of real SSH hosts built from network namespaces.

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Create the lab
    Up,
}

pub fn run(_command: LabCommand) -> i32 {
    eprintln!("baton lab: not built yet");
    crate::error::exit_code::INTERNAL
}

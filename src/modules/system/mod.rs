//! The host's system: facts (setup), services (systemd) and cron jobs.

pub mod cron;
pub mod service;
pub mod setup;
pub mod sysctl;

//! The host's system: facts (setup), services (systemd) and cron jobs.

pub mod cron;
pub mod mount;
pub mod reboot;
pub mod service;
pub mod setup;

//! The host's system: facts (setup), services (systemd) and cron jobs.

pub mod cron;
pub mod mount;
pub mod service;
pub mod setup;

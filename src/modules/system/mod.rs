//! The host's system configuration: services (systemd) and cron jobs.

pub mod cron;
pub mod service;

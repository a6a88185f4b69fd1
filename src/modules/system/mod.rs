//! The host's system: facts (setup), services (systemd) and cron jobs.

pub mod authorized_key;
pub mod cron;
pub mod hostname;
pub mod known_hosts;
pub mod service;
pub mod setup;
pub mod sysctl;

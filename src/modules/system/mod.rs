//! The host's system: facts (setup), services (systemd), cron jobs, users and groups.

pub mod cron;
pub mod group;
pub mod service;
pub mod setup;
pub mod user;

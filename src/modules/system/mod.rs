//! The host's system: facts (setup), services (systemd), cron jobs, kernel
//! parameters (sysctl), the host name (hostname) and SSH trust
//! (authorized_key, known_hosts).

pub mod authorized_key;
pub mod cron;
pub mod hostname;
pub mod known_hosts;
pub mod mount;
pub mod reboot;
pub mod service;
pub mod setup;
pub mod sysctl;

//! The host's system: facts (setup), services (systemd), cron jobs, users and
//! groups, kernel parameters (sysctl), mounts, reboots, the host name
//! (hostname) and SSH trust (authorized_key, known_hosts).

pub mod authorized_key;
pub mod cron;
pub mod group;
pub mod hostname;
pub mod known_hosts;
pub mod mount;
pub mod reboot;
pub mod service;
pub mod setup;
pub mod sysctl;
pub mod user;

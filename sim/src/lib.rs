//! HVR simulator: the lab's stand-in for the proprietary HVR replication product.
//!
//! One multi-call binary, `hvrsim`, provides the HVR commands baton's failover playbooks use
//! (hvrscheduler, hvrstart, hvrsuspend, hvrremotelistener, hvrtestlistener, hvrrouterview, hvrinit,
//! hvrrefresh, hvrcompare, hvrmaint, hvrlogrelease, ...), a tiny simulated DBMS (ingstart/ingstop) and a database client
//! (hvrsimclient). It dispatches on the name it is called by. See README.md for the design.

pub mod args;
pub mod catalog;
pub mod cli;
pub mod clientproto;
pub mod cmd;
pub mod codec;
pub mod daemon;
pub mod database;
pub mod dbms;
pub mod error;
pub mod fsutil;
pub mod hubproto;
pub mod journal;
pub mod log;
pub mod net;
pub mod optfile;
pub mod paths;
pub mod remote_listener;
pub mod router;
pub mod scheduler;
pub mod settings;
pub mod timefmt;

#[cfg(test)]
mod testutil;

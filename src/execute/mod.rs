//! Execution: per host on tokio, one connection per host, linear strategy.

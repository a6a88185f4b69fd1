//! Run control and checks: assert, fail, debug, set_fact, pause, ping, and
//! wait_for (a check that waits: a port, a path, or a drained connection).

pub mod assert;
pub mod debug;
pub mod fail;
pub mod pause;
pub mod ping;
pub mod set_fact;
pub mod wait_for;

//! Software arriving on the host as a whole tree: archives unpacked
//! (unarchive) and repositories checked out (git).

pub mod git;
pub mod unarchive;

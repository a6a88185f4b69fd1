//! Files on the host: content (copy, template), attributes and links (file),
//! edits in place (lineinfile, blockinfile), and facts about a path (stat).

pub mod blockinfile;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod lineinfile;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod template;

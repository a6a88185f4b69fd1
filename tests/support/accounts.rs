//! Test users and groups in the machine's own /etc/passwd and /etc/group,
//! for names the shadow tools refuse (`useradd` will not make
//! `domain users`, which sssd and AD serve). Needs root.
//!
//! Each edit holds the lock the shadow tools and glibc's `lckpwdf` take (a
//! write lock on /etc/.pwd.lock), plus a mutex for this process's threads,
//! and replaces the file whole (temporary file and rename), as `useradd`
//! does. The lines are removed again when the guard drops, on a panic too;
//! lines a killed run left (same names) are removed before adding.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Mutex;

static IN_PROCESS: Mutex<()> = Mutex::new(());

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// Lines this guard added, by file.
pub struct EtcAccounts {
    added: Vec<(&'static str, String)>,
}

/// Runs `edit` on each file's text with both locks held.
fn locked<T>(edit: impl FnOnce() -> T) -> T {
    let _guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open("/etc/.pwd.lock")
        .expect("open /etc/.pwd.lock (root needed)");
    // SAFETY: a plain fcntl(F_SETLKW) on a descriptor this function owns.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let rc = unsafe { libc::fcntl(lock.as_raw_fd(), libc::F_SETLKW, &fl) };
    assert_eq!(
        rc,
        0,
        "lock /etc/.pwd.lock: {}",
        std::io::Error::last_os_error()
    );
    edit()
    // The lock goes with the descriptor.
}

fn rewrite(file: &str, text: &str) {
    let tmp = format!("{file}.baton-test-{}", std::process::id());
    let meta = std::fs::metadata(file).expect("stat the account file");
    {
        let mut f = std::fs::File::create(&tmp).expect("temporary account file");
        f.write_all(text.as_bytes()).unwrap();
        f.sync_all().unwrap();
    }
    std::fs::set_permissions(&tmp, meta.permissions()).unwrap();
    std::fs::rename(&tmp, file).expect("replace the account file");
}

/// The first id from `from` that neither file uses, and not in `taken`.
fn free_id(from: u32, taken: &[u32]) -> u32 {
    let used: Vec<u32> = [PASSWD, GROUP]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                // An id, and a name of digits (which a test may use as an id).
                .flat_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    [f.first(), f.get(2)]
                        .into_iter()
                        .filter_map(|v| v.and_then(|v| v.parse().ok()))
                        .collect::<Vec<u32>>()
                })
                .collect::<Vec<u32>>()
        })
        .collect();
    (from..)
        .find(|id| !used.contains(id) && !taken.contains(id))
        .expect("a free id")
}

/// What to add: groups `(name, gid)` and users `(name, uid, gid)`.
pub type Accounts = (Vec<(String, u32)>, Vec<(String, u32, u32)>);

impl EtcAccounts {
    /// Takes `n` ids no account uses (from `from` up), and adds the groups
    /// and users `build` makes of them, under one lock, so two test
    /// processes never take the same ids.
    pub fn add(
        from: u32,
        n: usize,
        build: impl FnOnce(&[u32]) -> Accounts,
    ) -> (EtcAccounts, Vec<u32>) {
        locked(|| {
            let mut ids = Vec::new();
            for _ in 0..n {
                let id = free_id(from, &ids);
                ids.push(id);
            }
            let (groups, users) = build(&ids);
            let mut added: Vec<(&'static str, String)> = Vec::new();
            for (name, gid) in &groups {
                added.push((GROUP, format!("{name}:x:{gid}:")));
            }
            for (name, uid, gid) in &users {
                added.push((
                    PASSWD,
                    format!("{name}:x:{uid}:{gid}:baton test:/nonexistent:/usr/sbin/nologin"),
                ));
            }
            for file in [GROUP, PASSWD] {
                let mine: Vec<&String> = added
                    .iter()
                    .filter(|(f, _)| *f == file)
                    .map(|(_, l)| l)
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                let names: Vec<&str> = mine.iter().filter_map(|l| l.split(':').next()).collect();
                let text = std::fs::read_to_string(file).unwrap();
                let mut kept: String = text
                    .lines()
                    .filter(|l| !names.contains(&l.split(':').next().unwrap_or_default()))
                    .map(|l| format!("{l}\n"))
                    .collect();
                for line in mine {
                    kept.push_str(line);
                    kept.push('\n');
                }
                rewrite(file, &kept);
            }
            (EtcAccounts { added }, ids)
        })
    }
}

impl Drop for EtcAccounts {
    fn drop(&mut self) {
        locked(|| {
            for file in [GROUP, PASSWD] {
                let Ok(text) = std::fs::read_to_string(file) else {
                    continue;
                };
                let kept: String = text
                    .lines()
                    .filter(|l| !self.added.iter().any(|(f, a)| *f == file && a == l))
                    .map(|l| format!("{l}\n"))
                    .collect();
                if kept != text && Path::new(file).exists() {
                    rewrite(file, &kept);
                }
            }
        });
    }
}

//! HVR_CONFIG's filesystem full, inside one lab node (its own mount
//! namespace: nothing is mounted on the host, and the host's disk, shared
//! with other work, is never filled).
//!
//! The node's HVR_CONFIG is a directory of its disk, on the host's
//! filesystem. The fault mounts a small tmpfs over it holding a copy of
//! everything but `simdb/` (the simulated DBMS's database and journal: a real
//! DBMS keeps its files on a filesystem of its own, so only HVR's side is
//! full), binds the original `simdb/` back into it, and fills the tmpfs to
//! the last byte. From then on every file HVR (the simulator) or hvrfailover
//! writes or creates there fails with ENOSPC (`No space left on device`);
//! files a daemon held open before keep their original inode (the
//! approximation of this fault: a real full disk fails those writes too).
//!
//! Not every write fails on a full disk: rewriting an existing small file
//! (open with O_TRUNC, then write) frees its blocks first, so it succeeds,
//! on tmpfs as on ext4. Clearing is space coming back, not time going back:
//! with the node's processes frozen (`slow::while_frozen`), every file
//! changed in the tmpfs since the fault began is copied onto the disk in
//! place, and every file removed there is removed from the disk; then the
//! tmpfs is unmounted. (An earlier clearing only unmounted it, which undid
//! writes that had succeeded: a switchover that had recorded STOP on its
//! from-node found it START again, fault matrix finding 10, 2026-12-01.)

/// The injection, run inside the node by `baton lab shell NODE -- sh -c`
/// while the node's processes are frozen (`slow::while_frozen`): a write
/// between the copy and the mount would land on the disk, hidden under the
/// copy.
/// Prints what it did (the tmpfs' size, `df` of HVR_CONFIG).
pub const FILL: &str = r#"set -eu
c=/opt/hvr/hvr_config
side=/run/baton-fault-disk-full
if grep -q " $side/full " /proc/mounts; then
    echo "HVR_CONFIG is already on the fault's tmpfs"; exit 0
fi
mkdir -p "$side/orig" "$side/full"
mount -n --bind "$c" "$side/orig"
kb=$(du -sk --exclude=simdb "$c" | awk '{print $1}')
size=$((kb + 2048))
mount -n -t tmpfs -o "size=${size}k,mode=0755" baton-disk-full "$side/full"
( cd "$c" && for e in * .[!.]*; do
    [ -e "$e" ] || continue
    [ "$e" = simdb ] && continue
    cp -a "$e" "$side/full/"
done )
# What changes from here on is what the clearing copies back (by ctime,
# which no writer can set). The node sees the tmpfs only at the rbind below,
# well after the marker's clock tick.
touch "$side/filled"
sleep 0.05
if [ -d "$c/simdb" ]; then
    mkdir -p "$side/full/simdb"
    mount -n --bind "$side/orig/simdb" "$side/full/simdb"
fi
# A running daemon's PID file (its flock) and control socket stay its own:
# on a real full disk they still work. A copy would be a new inode, unlocked
# and with nobody listening, so a second DBMS would start on the same
# database and the two would write one journal (fault matrix, recover x
# to-disk-full, 2026-12-01).
for f in "$c"/files/*.pid "$c"/files/*.sock; do
    [ -e "$f" ] || continue
    b=${f##*/}
    [ -e "$side/full/files/$b" ] || : > "$side/full/files/$b"
    mount -n --bind "$side/orig/files/$b" "$side/full/files/$b"
done
# The last byte: big blocks, then single ones, so nothing is left.
dd if=/dev/zero of="$side/full/.baton-fault-fill" bs=64k 2>/dev/null || :
dd if=/dev/zero of="$side/full/.baton-fault-fill-2" bs=1k 2>/dev/null || :
mount -n --rbind "$side/full" "$c"
echo "HVR_CONFIG on a full ${size} KiB tmpfs (simdb/ kept on the node's disk): $(df -k "$c" | awk 'NR==2 {print $4 " KiB available"}')"
"#;

/// The clearing, inside the node, run while its processes are frozen:
/// what the full tmpfs kept goes back onto the disk, then every mount of
/// the fault goes, innermost first, lazily (a daemon may have a file open
/// there). Prints what it copied and removed.
pub const CLEAR: &str = r#"c=/opt/hvr/hvr_config
side=/run/baton-fault-disk-full
if [ -e "$side/filled" ] && grep -q " $side/full " /proc/mounts; then
    # The daemons' PID files and sockets bound from the disk are the disk's.
    bound=$(awk -v d="$side/full/" 'index($2, d) == 1 {print "./" substr($2, length(d) + 1)}' /proc/mounts)
    copied=0 removed=0 failed=0
    # Regular files, directories and symlinks: a socket a daemon bound
    # there while full has no content to copy (its daemon, if it still
    # runs, binds again), nor does a FIFO.
    (cd "$side/full" && find . -mindepth 1 \( -path ./simdb -o -name '.baton-fault-fill*' \) -prune -o -cnewer "$side/filled" \( -type f -o -type d -o -type l \) -print) > "$side/changed"
    while IFS= read -r p; do
        case "
$bound
" in *"
$p
"*) continue ;; esac
        if [ -d "$side/full/$p" ] && [ ! -L "$side/full/$p" ]; then
            mkdir -p "$side/orig/$p"
        elif cp -pP "$side/full/$p" "$side/orig/$p"; then
            copied=$((copied + 1))
        else
            echo "cannot copy $p back to the disk" >&2; failed=1
        fi
    done < "$side/changed"
    # Removed while full (renamed, integrated, given back): removed on the
    # disk too; only what existed when the fault began.
    # (No -depth: it would void the -prune, and the database is never ours
    # to remove; a directory's removal takes what is under it.)
    (cd "$side/orig" && find . -mindepth 1 -path ./simdb -prune -o ! -cnewer "$side/filled" -print) > "$side/before"
    while IFS= read -r p; do
        [ -e "$side/orig/$p" ] || [ -L "$side/orig/$p" ] || continue
        [ -e "$side/full/$p" ] || [ -L "$side/full/$p" ] || { rm -rf "$side/orig/$p"; removed=$((removed + 1)); }
    done < "$side/before"
    echo "kept what the full disk took: $copied file(s) copied back, $removed removed"
fi
umount -n -l "$c" 2>/dev/null && echo "HVR_CONFIG back on the node's disk"
for m in $(awk -v d="$side/full/files/" 'index($2, d) == 1 {print $2}' /proc/mounts); do
    umount -n -l "$m" 2>/dev/null
done
umount -n -l "$side/full/simdb" 2>/dev/null
umount -n -l "$side/full" 2>/dev/null
umount -n -l "$side/orig" 2>/dev/null
rm -f "$side/filled" "$side/changed" "$side/before"
rmdir "$side/full" "$side/orig" "$side" 2>/dev/null
if grep -q " $c tmpfs " /proc/mounts; then echo "HVR_CONFIG is still on a tmpfs" >&2; exit 1; fi
# A file that could not be copied back is said, after the unmount: the
# node must not stay on the fault's tmpfs for the re-run.
exit "${failed:-0}"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the fault keeps its mounts inside the node (its /run is a
    /// tmpfs of its own, fresh at each boot).
    const SIDE: &str = "/run/baton-fault-disk-full";

    #[test]
    fn the_scripts_use_the_same_places_and_keep_the_database_on_disk() {
        for script in [FILL, CLEAR] {
            assert!(script.contains(&format!("side={SIDE}\n")), "{script}");
            assert!(script.contains("c=/opt/hvr/hvr_config\n"), "{script}");
        }
        // Never a mount without -n (the host's utab), never the host's disk filled.
        for line in FILL
            .lines()
            .filter(|l| l.trim_start().starts_with("mount "))
        {
            assert!(line.contains("mount -n "), "{line}");
        }
        assert!(FILL.contains("[ \"$e\" = simdb ] && continue"));
        assert!(FILL.contains("of=\"$side/full/"));
        // the daemons' PID files and sockets bound back before the fill
        let binds = FILL.find("\"$side/orig/files/$b\"").unwrap();
        assert!(binds < FILL.find("dd if=/dev/zero").unwrap());
    }

    /// The fault and its clearing, for real, on a directory of a temporary
    /// dir in a mount namespace of its own (root: `unshare -m`). While
    /// full: a small file is rewritten (succeeds), a file and a directory
    /// are removed, one is created (its data fails), a FIFO is made. Cleared: the disk has the
    /// first three as the full tmpfs left them, not the FIFO (nothing to
    /// copy: fault matrix, a daemon's socket, 2026-12-01), the rest and
    /// the database as they were.
    #[test]
    fn clearing_keeps_what_the_full_disk_took_and_what_it_removed() {
        if !super::super::root_or_skip() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let c = tmp.path().join("hvr_config");
        let side = tmp.path().join("side");
        for d in ["files", "router", "simdb"] {
            std::fs::create_dir_all(c.join(d)).unwrap();
        }
        std::fs::write(c.join("hvrfailover.state"), "START\n").unwrap();
        std::fs::write(c.join("router/t1"), "a transaction\n").unwrap();
        std::fs::create_dir_all(c.join("router/batch")).unwrap();
        std::fs::write(c.join("router/batch/t2"), "another\n").unwrap();
        std::fs::write(c.join("hvrfailover.opt"), "-hubdb=hub\n").unwrap();
        std::fs::write(c.join("files/hvrscheduler_hvrhub.pid"), "4242\n").unwrap();
        std::fs::write(c.join("simdb/journal"), "row 1\n").unwrap();
        let at = |script: &str| {
            script
                .replace("c=/opt/hvr/hvr_config\n", &format!("c={}\n", c.display()))
                .replace(
                    &format!("side={SIDE}\n"),
                    &format!("side={}\n", side.display()),
                )
        };
        let while_full = r#"c="$3"
            printf 'STOP\n' > "$c/hvrfailover.state" || { echo "the rewrite failed" >&2; exit 1; }
            if printf 'data\n' > "$c/new" 2>/dev/null; then echo "the disk is not full" >&2; exit 1; fi
            # (removed last: its freed page would take the data above)
            rm "$c/router/t1"
            rm -r "$c/router/batch"
            echo "row 2" >> "$c/simdb/journal"
            # a FIFO has no content: copying it would block on its open
            mkfifo "$c/files/hvrscheduler_hvrhub.fifo""#;
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(r#"sh -c "$1" && sh -c "$4" fault "$@" && timeout 20 sh -c "$2""#)
            .args(["sh", &at(FILL), &at(CLEAR)])
            .arg(&c)
            .arg(while_full)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{said}");
        // the directory once, not also what was under it
        assert!(said.contains("2 file(s) copied back, 2 removed"), "{said}");
        assert!(!c.join("router/batch").exists(), "{said}");
        assert!(c.join("router").is_dir(), "{said}");
        let read = |p: &str| std::fs::read_to_string(c.join(p)).ok();
        assert_eq!(
            read("hvrfailover.state").as_deref(),
            Some("STOP\n"),
            "{said}"
        );
        assert_eq!(read("router/t1"), None, "{said}");
        assert_eq!(read("new").as_deref(), Some(""), "{said}");
        assert_eq!(read("hvrfailover.opt").as_deref(), Some("-hubdb=hub\n"));
        assert_eq!(
            read("files/hvrscheduler_hvrhub.pid").as_deref(),
            Some("4242\n")
        );
        assert_eq!(read("simdb/journal").as_deref(), Some("row 1\nrow 2\n"));
        assert!(!c.join("files/hvrscheduler_hvrhub.fifo").exists(), "{said}");
        assert!(!c.join(".baton-fault-fill").exists(), "{said}");
        assert!(!side.exists(), "{said}");
    }
}

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
//! Clearing unmounts it: the node sees its original HVR_CONFIG again, as it
//! was before the fault (what was removed or renamed in the copy while
//! full comes back; anything written there could only have failed).

/// The injection, run inside the node by `baton lab shell NODE -- sh -c`.
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

/// The clearing, inside the node: every mount of the fault, innermost
/// first, lazily (a daemon may have a file open there).
pub const CLEAR: &str = r#"c=/opt/hvr/hvr_config
side=/run/baton-fault-disk-full
umount -n -l "$c" 2>/dev/null && echo "HVR_CONFIG back on the node's disk"
for m in $(awk -v d="$side/full/files/" 'index($2, d) == 1 {print $2}' /proc/mounts); do
    umount -n -l "$m" 2>/dev/null
done
umount -n -l "$side/full/simdb" 2>/dev/null
umount -n -l "$side/full" 2>/dev/null
umount -n -l "$side/orig" 2>/dev/null
rmdir "$side/full" "$side/orig" "$side" 2>/dev/null
if grep -q " $c tmpfs " /proc/mounts; then echo "HVR_CONFIG is still on a tmpfs" >&2; exit 1; fi
exit 0
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
}

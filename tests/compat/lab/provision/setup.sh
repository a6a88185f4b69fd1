#!/bin/sh
# What the provisioning playbook expects to find on a node, as a new user's
# environment would have it: an air-gapped apt (only a local `file:` repository
# holding one package, `app-tools`, whose files are all under /opt) and a bare
# git repository. Runs as root on each lab node before the first run
# (`ssh NODE sh -s < setup.sh`); a lab node's /etc, /opt, /var and /home are its
# own overlays, so none of this touches the host. Fixed names and dates make the
# package and the commit the same on every node and every run.
set -eu
export SOURCE_DATE_EPOCH=1704067200
export GIT_AUTHOR_NAME=Provisioner GIT_AUTHOR_EMAIL=ops@example.com
export GIT_COMMITTER_NAME=Provisioner GIT_COMMITTER_EMAIL=ops@example.com
export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Air-gapped: apt sees only the local repository the playbook adds.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
rm -rf /var/lib/apt/lists/*

# The package and its repository: a Packages index as dpkg-scanpackages
# writes it (the control fields, then where the file is, its size and hash),
# written here so that dpkg-dev is not needed.
mkdir -p "$work/pkg/DEBIAN" "$work/pkg/opt/app-tools/bin" /var/local/repo
printf '#!/bin/sh\necho app-tools 1.0\n' >"$work/pkg/opt/app-tools/bin/app-tools"
chmod 0755 "$work/pkg/opt/app-tools/bin/app-tools"
cat >"$work/pkg/DEBIAN/control" <<'CONTROL'
Package: app-tools
Version: 1.0
Architecture: all
Maintainer: Ops <ops@example.com>
Description: the application's tools (installs under /opt only)
CONTROL
dpkg-deb --root-owner-group --build "$work/pkg" /var/local/repo/app-tools_1.0_all.deb >/dev/null
deb=/var/local/repo/app-tools_1.0_all.deb
{
  dpkg-deb --field "$deb"
  echo "Filename: ./${deb##*/}"
  echo "Size: $(wc -c <"$deb")"
  echo "SHA256: $(sha256sum <"$deb" | cut -d' ' -f1)"
  echo
} >/var/local/repo/Packages

# The application's source: one commit on `main` in a bare repository.
git -c init.defaultBranch=main init -q "$work/src"
printf 'listen = 8080\n' >"$work/src/app.conf"
git -C "$work/src" add app.conf
git -C "$work/src" commit -q -m 'app 1.0'
mkdir -p /var/local/git
git clone -q --bare "$work/src" /var/local/git/app.git

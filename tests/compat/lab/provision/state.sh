#!/bin/sh
# The state the provisioning playbook leaves on a node, one fact a line, so
# that ansible-core's and baton's results compare line by line (bench/compat.py
# and tests/compat_lab.rs run it as `ssh NODE sh -s < state.sh`). Times are left
# out; file contents are their sha256, or `=skel` for a home's file that is a
# copy of /etc/skel's (the host's, so that the recording holds on any host).
set -u
echo "passwd $(getent passwd app)"
echo "group $(getent group app)"
echo "groups $(id -nG app)"
find /home/app /opt/app /opt/app-tools /etc/apt/sources.list.d /etc/sysctl.d/60-app.conf \
  -path /opt/app/src/.git -prune -o -printf '%p %y %m %u %g\n' | sort | while read -r path type rest; do
  skel=/etc/skel/${path#/home/app/}
  if [ "$type" = f ] && [ "${path#/home/app/}" != "$path" ] && cmp -s "$path" "$skel"; then
    echo "file $path $type $rest =skel"
  elif [ "$type" = f ]; then
    echo "file $path $type $rest $(sha256sum <"$path" | cut -d' ' -f1)"
  else
    echo "file $path $type $rest"
  fi
done
echo "dpkg $(dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}' app-tools 2>&1)"
echo "sysctl net.ipv4.ip_forward=$(sysctl -n net.ipv4.ip_forward)"
grep -v '^#' /etc/sysctl.d/60-app.conf | sed 's/^/sysctl_file /'
grep '/opt/app/cache' /etc/fstab | sed 's/^/fstab /'
awk '$2 == "/opt/app/cache" { print "mount", $1, $2, $3, $4 }' /proc/self/mounts
echo "git HEAD $(git -C /opt/app/src rev-parse HEAD) $(git -C /opt/app/src rev-parse --abbrev-ref HEAD)"
echo "git status $(git -C /opt/app/src status --porcelain | tr '\n' ' ')"

"""pyinfra 3.x deploy equivalent to bench/twenty.yml, for bench/peers.sh.

It leaves the same paths, modes and contents under `bench_dir` as the
playbook does under ansible-playbook and baton (bench/peers.sh compares the
sha256 of every path). Host data: bench_dir, bench_hub (the inventory that
bench/peers.sh writes). Run: pyinfra -y INVENTORY.py bench/pyinfra/deploy.py

Differences of means, not of result:
- `command` is `server.shell` (pyinfra has no shell-less command operation);
- Ansible's lineinfile `create: true, mode: "0644"` is `files.file` (touch,
  mode) before the first `files.line`, since files.line creates files with the
  node's umask and takes no mode;
- lineinfile `insertbefore: BOF` has no pyinfra operation: `line_at_top`
  below checks the file with the FindInFile fact and inserts with sed only
  when the line is missing, as lineinfile does.
"""

import io
import os
import re
import shlex

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import FindInFile
from pyinfra.operations import files, server

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "templates", "bench.j2")
BENCH_DIR = host.data.bench_dir
HVRTAB = f"{BENCH_DIR}/hvrtab"


@operation()
def line_at_top(path: str, line: str):
    """Ensure LINE is in PATH; when missing, insert it as the first line
    (Ansible's lineinfile with insertbefore: BOF)."""
    present = host.get_fact(FindInFile, path=path, pattern=f"^{re.escape(line)}$")
    if present:
        host.noop(f'line "{line}" exists in {path}')
        return
    yield f"sed -i {shlex.quote('1i ' + line)} {shlex.quote(path)}"


for i in range(1, 5):
    server.shell(name=f"command {i}", commands=["/bin/true"])

files.directory(name="directory 1", path=f"{BENCH_DIR}/d1", mode="755")
files.directory(name="directory 2", path=f"{BENCH_DIR}/d2", mode="755")
files.directory(name="directory 3", path=f"{BENCH_DIR}/d3", mode="750")
files.directory(name="directory 4", path=f"{BENCH_DIR}/d1/sub", mode="755")

for name, content, dest, mode in (
    ("copy 1", "hvr replication settings\n", "c1.conf", "644"),
    ("copy 2", "-hubdb=hub\n-virtual_ip=10.77.0.254\n", "c2.opt", "644"),
    ("copy 3", f"host {host.name}\n", "c3.txt", "600"),
    ("copy 4", "START\n", "d1/state", "644"),
):
    files.put(name=name, src=io.StringIO(content), dest=f"{BENCH_DIR}/{dest}", mode=mode)

files.file(name="lineinfile create", path=HVRTAB, touch=False, mode="644")
files.line(
    name="lineinfile 1",
    path=HVRTAB,
    line="^root 4343 /opt/hvr/hvr_home /opt/hvr/hvr_config$",
)
files.line(
    name="lineinfile 2",
    path=HVRTAB,
    line="^root hvrfailover /opt/hvr/hvr_home /opt/hvr/hvr_config$",
)
files.line(name="lineinfile 3", path=HVRTAB, line="^# lag=", replace="# lag=200")
line_at_top(name="lineinfile 4", path=HVRTAB, line="# managed by the benchmark")

for name, dest, mode in (
    ("template 1", "t1.conf", "644"),
    ("template 2", "t2.conf", "644"),
    ("template 3", "t3.conf", "640"),
    ("template 4", "d2/t4.conf", "644"),
):
    files.template(
        name=name,
        src=TEMPLATE,
        dest=f"{BENCH_DIR}/{dest}",
        mode=mode,
        inventory_hostname=host.name,
        bench_dir=BENCH_DIR,
        bench_hub=host.data.bench_hub,
    )

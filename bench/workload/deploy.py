"""The benchmark's workload for pyinfra (bench/README.md): the nine items of site.yml,
each as pyinfra's own operation or fact. Run by bench.peers as
`pyinfra -y --json INVENTORY.py bench/workload/deploy.py` from the repository root, with
the inventory that bench.peers writes (host data: address, host_root, bench_id)."""

from io import StringIO

from pyinfra import host  # type: ignore[import-not-found]
from pyinfra.facts.files import Directory  # type: ignore[import-not-found]
from pyinfra.facts.server import Command  # type: ignore[import-not-found]
from pyinfra.operations import dnf, files, server  # type: ignore[import-not-found]

root: str = host.data.host_root
user, group = f"bench_u{host.data.bench_id}", f"bench_g{host.data.bench_id}"
app, conf = f"{root}/srv/app", f"{root}/etc/bench.conf"

# The same text as site.yml's copy renders (the cross-check compares the two).
REPO = f"""[bench]
name=Bench repository of {host.name}
baseurl=http://127.0.0.1/bench/el$releasever/$basearch/
enabled=1
gpgcheck=0
"""

files.put(
    name="A repository file",
    src=StringIO(REPO),
    dest=f"{root}/etc/yum.repos.d/bench.repo",
    mode="644",
)
files.directory(name="A directory", path=app, mode="755")
files.template(
    name="A template",
    src="bench/workload/app.conf.j2",
    dest=f"{app}/app.conf",
    mode="644",
    # the template's variables, as provision and ansible have them
    inventory_hostname=host.name,
    host=host.data.address,
    host_root=root,
)
files.line(name="A line in a file", path=conf, line="^setting=", replace="setting=on")

# The read-only check: a fact (a command that fails fails the host), which pyinfra
# runs while it loads this file, before the operations above run.
host.get_fact(Command, command=f"test -s {conf}")

# The guarded command: mkdir only where the directory is not there (ansible's creates).
if host.get_fact(Directory, path=f"{app}/data") is None:
    server.shell(name="A guarded command", commands=[f"mkdir {app}/data"])

server.group(name="A group", group=group)
server.user(
    name="A user in the group",
    user=user,
    groups=[group],
    append=True,
    home=f"{root}/home/{user}",
    create_home=False,
    ensure_home=False,
    shell="/usr/sbin/nologin",
)
# The package check: dnf.packages looks in the rpm database (and would install).
dnf.packages(name="A package check", packages=["bench-marker"])

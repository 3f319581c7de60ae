"""Connections to hosts: SSH (paramiko), local, and the fake of the tests.

paramiko imports `invoke` at its own start, only for its ssh_config's `Match exec`:
marked absent here it costs nothing (about a tenth of a second of CPU a run), and
`sshconfig.read_config` brings it in for a config that has such a line.
"""

import sys

if "invoke" not in sys.modules:
    sys.modules["invoke"] = None  # type: ignore[assignment]

"""`python -m provisioner.compat > docs/ansible-compatibility.md`: print the page."""

from __future__ import annotations

import sys

from provisioner.compat import render

sys.stdout.write(render())

"""The benchmark of issue 12: `provision` against the floor on loopback hosts.

`make bench` (or `python -m bench`); see bench/README.md.
"""

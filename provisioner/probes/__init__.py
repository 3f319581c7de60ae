"""Typed probes: a read-only POSIX sh command and the parser of its output.

Pure like the modules: shell text in, parsed state out. Modules declare the
probes they need; the runner sends each distinct probe of a host once per
batch, so two tasks asking `getent group docker` cost one query.
"""

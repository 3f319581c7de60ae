"""Running HostPlans on hosts: `runner` (threads, plays, events), `worker` (one host's
tasks in order), `step` (one unit: plan, apply, verify), `batch` (probe answers),
`outcome` (events and registered results), `dryrun` (who provides a need), `facts`."""

from provisioner.runner.runner import Connector, Listener, Runner, RunOptions

__all__ = ["Connector", "Listener", "RunOptions", "Runner"]

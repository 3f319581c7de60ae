"""The report card: a run's results read per host and task as pass, fail, error or
skipped (`verdicts`), and the pages made of it: JUnit XML (`junit`), one HTML page
(`page`), the `verify` part of the JSON report (`document`). It reads events only."""

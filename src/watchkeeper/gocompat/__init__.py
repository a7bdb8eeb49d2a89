"""Go behaviour that users' files depend on, in one place.

Prometheus and Alertmanager are Go programs: their duration syntax, their
``%q`` quoting in error messages and their regexp ``$1`` expansion are part of
the formats users bring. promql, scrape, rules, alerting and template all use
these modules rather than their own copies.
"""

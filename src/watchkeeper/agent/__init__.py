"""``watchkeeper agent``: the host agent (node_exporter-compatible collectors, pull or remote-write push).

Entry points: ``watchkeeper.agent.main.add_arguments`` / ``run`` (the CLI subcommand). Package
data: ``rules/host-down.yml`` (server-side alert rules) and ``watchkeeper-agent.service``.
"""

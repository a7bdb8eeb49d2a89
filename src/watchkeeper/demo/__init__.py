"""``watchkeeper demo``: a server with 20 simulated hosts, scripted incidents, rules, routing and dashboards.

See docs/demo.md. The simulator (``fleet``, ``scenarios``, ``catalog``) produces whole arrays of samples;
``target`` serves them to the server's own scrape loops, ``backfill`` writes the hours before the start,
``run.run_demo`` puts it together and ``main`` is the command line. Nothing is imported here, so the
CLI can register the command without loading the server.
"""

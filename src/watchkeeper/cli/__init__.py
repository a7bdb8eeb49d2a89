"""The ``watchkeeper`` command line (``watchkeeper.cli.main:main``)."""

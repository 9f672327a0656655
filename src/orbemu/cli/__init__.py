"""The ``orbemu`` command line (Typer + Rich)."""

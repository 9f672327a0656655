"""Adapters between files and the domain: element sets, ground nodes, ephemeris formats."""

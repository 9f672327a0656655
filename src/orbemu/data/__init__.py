"""Data shipped with orbemu (see PROVENANCE.md in this folder)."""

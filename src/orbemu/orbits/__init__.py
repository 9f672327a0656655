"""Orbits: elements, designed shells, propagation, frames, the Sun and passes. Pure numerics."""

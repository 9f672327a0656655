"""The emulation engine: clock, loop, events, faults, recorder (engine layer).

Imports the models (spacecraft, ground), comms, network, links, orbits and base layers; never
the adapters (store, scenario, io) or the faces. Filled in below.
"""

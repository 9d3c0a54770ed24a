"""The crisis model: agents, network, action ladder, mechanisms and outcome classification.

Kept import-light on purpose: `abm.model.actions` is pure data that the config layer reads.
"""

"""abm: agent-based Monte Carlo model of interstate crisis escalation.

The layers import left to right only: config -> model -> runner -> analysis -> cli.
"""

__version__ = "0.1.0"

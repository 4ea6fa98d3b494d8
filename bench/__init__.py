"""The P2HAM benchmark: the service through its real API against the Temporal floor on the same dev server.

`make bench` or `python -m bench --help`.
"""

"""``amo-bridge demo``: the whole system on one machine against the sandbox.

``config`` writes the demo's configuration for the sandbox's seeded account (pure), ``children``
runs the services as child processes in one process group, ``watch`` turns what the sandbox and the
store show into the lines of the live view.
"""

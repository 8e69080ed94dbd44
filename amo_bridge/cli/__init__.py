"""The ``amo-bridge`` command line: the one place that wires processes together."""

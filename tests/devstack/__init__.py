"""Tests of the local system (devstack/): stand-in, demo origin, Pyodide runner, stack."""

"""Stability analysis with SymPy: properties of nonlinearities, step-size conditions, report."""

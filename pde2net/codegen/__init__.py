"""IR to PyTorch source: a SymPy printer for formulas, templates for the rest."""

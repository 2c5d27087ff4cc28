"""Training the generated modules: offline datasets, the loop, distributed runs."""

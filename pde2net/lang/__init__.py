"""The front end: grammar loading, syntax tree to IR, located errors."""

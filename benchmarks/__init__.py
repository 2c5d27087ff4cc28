"""Benchmarks of pde2net: inference (onnxruntime, torch eager, torch.compile), compile
latency per stage, training memory against depth, int8 quantization, and the levers
behind them. Run them all with `python benchmarks/run.py` (`--quick`: the smoke test)."""

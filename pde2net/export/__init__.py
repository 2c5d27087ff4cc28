"""ONNX export and its verification in onnxruntime."""

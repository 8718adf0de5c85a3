"""Exporting a trained tagger for other runtimes (ONNX Runtime), with an accuracy gate."""

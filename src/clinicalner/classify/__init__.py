"""Text classification (adverse drug events and any other labels), beside span tagging.

The same encoders, training loop pieces (optimiser, schedule, checkpoints, resume, seeds),
model store, LLM client and voting ideas as the span side, with a pooled classification
head instead of per-word tags. Importing this package imports neither torch nor sklearn.

- :mod:`~clinicalner.classify.data`: labelled texts (JSONL/TSV) and prediction files.
- :mod:`~clinicalner.classify.split`: validation split stratified by label x language, upsampling.
- :mod:`~clinicalner.classify.train`: fine-tune an encoder (or the TF-IDF baseline).
- :mod:`~clinicalner.classify.predict`: load any classifier kind and predict.
- :mod:`~clinicalner.classify.llm`: an instruction-tuned LLM as a classifier (logprob confidences).
- :mod:`~clinicalner.classify.ensemble`: hard, soft and weighted voting.
- :mod:`~clinicalner.classify.metrics` / :mod:`~clinicalner.classify.report`: scores and reports.
"""

"""Tools that work on a finished run: ``plot`` (PNG charts from ``metrics.jsonl``) and ``export`` (merge a LoRA
adapter into its base model)."""

"""deepscaler-grpo: the DeepScaleR GRPO recipe on Hugging Face TRL.

Stages, one module each: ``data`` (prepare parquet), ``reward`` (the answer verifier), ``train``
(GRPO with LoRA), ``evaluation`` (pass@k), ``problems`` (the row contract and benchmark table), ``plot``, ``export`` and ``demo`` (the whole pipeline on CPU).
Run ``deepscaler-grpo --help`` for the commands.
"""

__version__ = "0.1.0"

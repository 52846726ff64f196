"""The CPU demo of the whole pipeline: ``deepscaler-grpo demo`` (``pipeline``), its problems (``problems``), its
warm start (``model``) and the tiny model builder used by the demo and the tests (``tiny``).

    deepscaler-grpo demo --quick
    python -m deepscaler_grpo.demo.tiny DIR --head-dim 32
"""

"""``python -m deepscaler_grpo.demo``: the same as ``deepscaler-grpo demo``."""

import sys

from deepscaler_grpo.demo.pipeline import main

if __name__ == "__main__":
    sys.exit(main())

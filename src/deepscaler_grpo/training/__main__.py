"""``python -m deepscaler_grpo.training ...``: the same as ``deepscaler-grpo train``."""

import sys

from deepscaler_grpo.training.run import main

if __name__ == "__main__":
    sys.exit(main())

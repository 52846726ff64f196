"""``python -m deepscaler_grpo.data ...`` runs ``deepscaler-grpo prepare ...``."""

import sys

from deepscaler_grpo.data.cli import main

if __name__ == "__main__":
    sys.exit(main())

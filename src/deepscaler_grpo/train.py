"""``python -m deepscaler_grpo.train ...``: kept for launchers (``accelerate launch -m``, ``torchrun -m``) and old
scripts; the code lives in :mod:`deepscaler_grpo.training`."""

import sys

if __name__ == "__main__":
    from deepscaler_grpo.training.run import main

    sys.exit(main())

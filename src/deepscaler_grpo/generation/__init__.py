"""Generation shared by evaluation, validation and training: one interface (:class:`Backend`), Hugging Face
``generate`` (:mod:`.hf`) and vLLM (:mod:`.vllm`, also the one function that makes a vLLM engine's settings)
behind it.

    from deepscaler_grpo.generation import HFBackend, Sampling
    HFBackend(model, tokenizer).generate(prompts, Sampling(n=4, temperature=0.6, max_tokens=512))
"""

from deepscaler_grpo.generation.base import Backend, Messages, Sampling, prompt_token_ids, stop_token_ids
from deepscaler_grpo.generation.hf import HFBackend, generate_hf

__all__ = ["Backend", "HFBackend", "Messages", "Sampling", "generate_hf", "prompt_token_ids", "stop_token_ids"]

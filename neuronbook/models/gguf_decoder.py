"""Turn a GGUF checkpoint (llama.cpp's format) into a plain Hugging Face decoder folder.

transformers reads GGUF itself (``from_pretrained(folder, gguf_file=...)``, with the ``gguf``
package): it maps llama.cpp's tensor names back to its own, undoes the rotary permutation of the
query and key weights, and dequantises every tensor to float32. A model loaded that way keeps a
``quantization_config`` and refuses ``save_pretrained``; so its weights are copied into a fresh
base model (no language-modelling head: neuronbook reads hidden states only) of the same config,
which is saved as ordinary safetensors. The weights are then exactly the dequantised GGUF values:
an approximation of the original float model, never the model itself.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path

__all__ = ["gguf_to_hf", "GGUF_EXTRA"]

logger = logging.getLogger(__name__)

#: What reading GGUF needs besides transformers (pinned in pyproject's ``decoders`` extra).
GGUF_EXTRA = ("gguf==0.19.0", "accelerate==1.16.0")


def _check_gguf_installed() -> None:
    import importlib.util

    missing = [req for req in GGUF_EXTRA if importlib.util.find_spec(req.split("==")[0]) is None]
    if missing:
        from .registry import PresetNotInstalledError

        raise PresetNotInstalledError(
            f"reading a GGUF checkpoint needs {', '.join(missing)}: pip install 'neuronbook[decoders]' "
            f"(or pip install --no-deps {' '.join(missing)})")


@contextlib.contextmanager
def _quiet_gguf():
    """transformers' loading bars off, its GGUF reader's bar too (that one ignores the switch)."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code never prints
    own_bar = getattr(gguf_utils, "tqdm", None)
    if own_bar is not None:
        gguf_utils.tqdm = functools.partial(own_bar, disable=True)
    try:
        yield
    finally:
        if own_bar is not None:
            gguf_utils.tqdm = own_bar
        if bars:
            hf_logging.enable_progress_bar()


def gguf_to_hf(gguf_path, folder, *, model_max_length: int | None = None) -> dict:
    """Write the base model and tokenizer of a GGUF file into ``folder`` (save_pretrained layout).

    Parameters
    ----------
    gguf_path : path
        The ``.gguf`` file (a decoder transformers can read from GGUF: llama, gemma3, qwen2, ...).
    folder : path
        Where the Hugging Face files go.
    model_max_length : int, optional
        The tokenizer's length limit; default: the model's position embeddings.

    Returns
    -------
    dict
        ``architecture`` (the base model class), ``tensors`` (weights copied), ``quantisation``
        (GGUF file type as transformers reports it, when it does).

    Examples
    --------
    >>> gguf_to_hf("SmolLM2-135M-Instruct.Q4_1.gguf", "out/")   # doctest: +SKIP
    {'architecture': 'LlamaModel', 'tensors': 272, ...}
    """
    _check_gguf_installed()
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    gguf_path, folder = Path(gguf_path), Path(folder)
    with _quiet_gguf():
        kw = {"gguf_file": gguf_path.name, "local_files_only": True}
        lm = AutoModelForCausalLM.from_pretrained(gguf_path.parent, dtype=torch.float32, **kw)
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kw)
        cfg = lm.config.to_dict()
        quant = cfg.pop("quantization_config", None)
        for k in ("_name_or_path", "_model_name_or_path", "architectures", "transformers_version", "dtype"):
            cfg.pop(k, None)
        config = AutoConfig.for_model(**cfg)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # every weight is overwritten below; seeded so nothing depends on chance
            base = AutoModel.from_config(config, dtype=torch.float32)
        source = lm.base_model.state_dict()
        missing, unexpected = base.load_state_dict(source, strict=False)
        missing = [k for k in missing if not k.endswith("rotary_emb.inv_freq")]
        if missing or unexpected:
            raise ValueError(f"{gguf_path}: the GGUF weights do not fit {type(base).__name__}: missing "
                             f"{missing[:5]}, unexpected {unexpected[:5]}")
        base.config.architectures = [type(base).__name__]
        base.eval().save_pretrained(folder)
        limit = model_max_length or getattr(config, "max_position_embeddings", None)
        if limit:
            tokenizer.model_max_length = int(limit)
        tokenizer.save_pretrained(folder)
    return {"architecture": type(base).__name__, "tensors": len(source),
            "gguf_file": gguf_path.name, "quantisation": (quant or {}).get("quant_method")}

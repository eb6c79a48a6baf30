"""Fine-tune a model as a word tagger, keep it in the model cache, analyse it by name.

:func:`finetune` trains a base model (a preset, a folder, a Hub id, even another fine-tune) with a linear head
for a token-classification task on a named corpus (POS on a UD split, semantic tags on the PMB train split):
each word's label goes on its first piece, the other pieces get ``-100`` (ignored by the loss). The words are
labelled by :class:`~neuronbook.corpus.Task`, fitted on the training split, exactly as LCA labels them.
Training is a plain torch loop (``loop="torch"``: AdamW, linear decay after a 10 % warm-up, a checkpoint after
each epoch so an interrupted fine-tune resumes there) or transformers' ``Trainer`` (``loop="transformers"``:
the same optimiser and schedule, its own checkpoints). It runs on the GPU when there is one
(:func:`neuronbook.extraction.best_device`).

The result is written once, atomically, under a content key of (base model's fingerprint, corpus, split and
the sentences used, task, settings): the same call again reuses it at once, and an interrupted one never looks
complete. It is named ``"finetuned:<key>"`` wherever a model name is accepted (:func:`neuronbook.load_model`,
``run_lca(model=...)``, ``neuronbook lca --model``). The tagger's accuracy on the held-out ``eval_split`` is
recorded with it (``finetune.json``), with the accuracy of the untrained head for comparison.

Examples
--------
>>> import os, tempfile
>>> os.environ["NEURONBOOK_CACHE"] = tempfile.mkdtemp()
>>> from neuronbook.corpus import Corpus
>>> words = [["the", "cat", "sat"], ["a", "dog", "ran"]] * 8
>>> tags = [["DET", "NOUN", "VERB"]] * 16
>>> train = Corpus(words, {"upos": tags}, name="toy")
>>> ft = finetune("tiny-random", train, "upos", eval_data=train, epochs=3, lr=1e-2, batch_size=4,
...               progress=False)
>>> ft.name.startswith("finetuned:"), ft.accuracy
(True, 1.0)
>>> finetune("tiny-random", train, "upos", eval_data=train, epochs=3, lr=1e-2, batch_size=4,
...          progress=False).reused
True
>>> del os.environ["NEURONBOOK_CACHE"]
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import settings
from .exceptions import ClippedWordsWarning
from .models import finetuned as _ft
from .models.finetuned import finetuned_metadata, list_finetuned

__all__ = ["FinetuneConfig", "FinetunedModel", "finetune", "finetune_key", "list_finetuned", "finetuned_metadata"]

logger = logging.getLogger(__name__)

_FORMAT = 1  # part of every key: bump when the recipe (labels, head, schedule) changes
_LOOPS = ("torch", "transformers")


def _doc(text: str, **kw) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class FinetuneConfig:
    """The settings of a fine-tune (literals only); an unknown setting is an error naming the valid ones.

    Examples
    --------
    >>> FinetuneConfig(epochs=1).replace(lr=1e-4).lr
    0.0001
    >>> FinetuneConfig(epochz=1)
    Traceback (most recent call last):
    ...
    TypeError: unknown FinetuneConfig setting 'epochz' (did you mean 'epochs'?); valid settings: epochs, lr, ...
    """

    epochs: int = _doc("passes over the training sentences", default=3)
    lr: float = _doc("peak learning rate of AdamW (linear warm-up over the first 10 % of steps, then decay)",
                     default=1e-4)
    batch_size: int = _doc("sentences per step", default=16)
    max_sentences: int | None = _doc("a seeded sample of at most this many training sentences (None: all)",
                                     default=800)
    seed: int = _doc("seed of the sentence sample, the head's initialisation, dropout and shuffling", default=0)
    split: str = _doc("split of a named corpus to train on (keep it disjoint from what LCA tests on)",
                      default="train")
    eval_split: str | None = _doc("held-out split the tagger's accuracy is measured on (None: not measured)",
                                  default="test")
    weight_decay: float = _doc("AdamW weight decay (not on biases and LayerNorm weights)", default=0.01)
    dropout: float = _doc("dropout on the last hidden state before the head", default=0.1)
    max_length: int | None = _doc("pieces per sentence, special tokens included (None: the model's limit); "
                                  "words past it are not trained on and a warning counts them", default=None)
    loop: str = _doc("training loop: 'torch' (plain, resumable per epoch) or 'transformers' (Trainer)",
                     default="torch")

    def __init__(self, **settings_):
        names = [f.name for f in dataclasses.fields(FinetuneConfig)]
        for key in settings_:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                raise TypeError(f"unknown FinetuneConfig setting {key!r}"
                                + (f" (did you mean {close[0]!r}?)" if close else "")
                                + f"; valid settings: {', '.join(names)}")
        for f in dataclasses.fields(FinetuneConfig):
            object.__setattr__(self, f.name, settings_.get(f.name, f.default))
        self._check()

    def _check(self) -> None:
        def positive_int(name, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"FinetuneConfig.{name} must be a positive integer"
                                 + (" or None" if allow_none else "") + f", got {v!r}")

        positive_int("epochs")
        positive_int("batch_size")
        positive_int("max_sentences", allow_none=True)
        positive_int("max_length", allow_none=True)
        for name in ("lr", "weight_decay", "dropout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"FinetuneConfig.{name} must be a finite number >= 0, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"FinetuneConfig.lr must be > 0, got {self.lr!r}")
        if not self.dropout < 1:
            raise ValueError(f"FinetuneConfig.dropout must be below 1, got {self.dropout!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"FinetuneConfig.seed must be an integer, got {self.seed!r}")
        if not isinstance(self.split, str) or not self.split:
            raise ValueError(f"FinetuneConfig.split must be a split name, got {self.split!r}")
        if self.eval_split is not None and (not isinstance(self.eval_split, str) or not self.eval_split):
            raise ValueError(f"FinetuneConfig.eval_split must be a split name or None, got {self.eval_split!r}")
        if self.eval_split is not None and self.eval_split == self.split:
            raise ValueError(f"FinetuneConfig.eval_split {self.eval_split!r} is the training split: the "
                             "accuracy must be measured on held-out sentences")
        if self.loop not in _LOOPS:
            raise ValueError(f"FinetuneConfig.loop must be one of {list(_LOOPS)}, got {self.loop!r}")

    def replace(self, **changes) -> "FinetuneConfig":
        """A copy with some settings changed (unknown names are errors)."""
        return FinetuneConfig(**{**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        """The settings as a plain dict (JSON-ready)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def describe(cls):
        """Every setting with its default and meaning, as a DataFrame (``name``, ``default``, ``doc``)."""
        import pandas as pd

        return pd.DataFrame([{"name": f.name, "default": f.default, "doc": f.metadata["doc"]}
                             for f in dataclasses.fields(cls)])


@dataclass(frozen=True)
class FinetunedModel:
    """What :func:`finetune` returns: the model's name, folder and recorded metadata.

    Attributes
    ----------
    name : str
        ``"finetuned:<key>"``; pass it wherever a model name is accepted.
    key : str
        The content key.
    path : pathlib.Path
        The folder in the model cache (a Hugging Face folder of the encoder, plus the head and metadata).
    metadata : dict
        ``finetune.json``: base model and fingerprint, data, task, settings, classes, per-epoch training loss,
        ``accuracy`` on ``eval_split``, ``accuracy_before`` (the untrained head), seconds, device.
    reused : bool
        True when a complete fine-tune with the same key was found and nothing was trained.
    """

    name: str
    key: str
    path: Path
    metadata: dict
    reused: bool = False

    @property
    def accuracy(self) -> float | None:
        """The tagger's word accuracy on ``eval_split`` (None when not measured)."""
        return self.metadata.get("accuracy")

    def summary(self) -> str:
        m = self.metadata
        acc = "not measured" if m.get("accuracy") is None else (
            f"{m['accuracy_before']:.4f} -> {m['accuracy']:.4f} on {m['eval_data']}")
        return (f"{self.name}\n  base {m['base_model']}, task {m['task']['name']} on {m['data']}/"
                f"{m['settings']['split']} ({m['train_sentences']} sentences, {m['train_words']} words), "
                f"{m['settings']['epochs']} epochs, {m['device']}, {m['seconds']:.0f} s\n"
                f"  training loss per epoch: {', '.join(f'{x:.3f}' for x in m['train_loss'])}\n"
                f"  tagger accuracy (untrained head -> fine-tuned): {acc}\n  {self.path}")


# ----------------------------------------------------------------------------------------------- data


def _corpus(data, split: str | None):
    from .corpus import Corpus
    from .datasets import load_corpus

    if isinstance(data, Corpus):
        return data
    if split is None or _is_file(data):  # a corpus file is one split
        return load_corpus(os.fspath(data))
    return load_corpus(os.fspath(data), split=split)


def _is_file(data) -> bool:
    from .corpus import Corpus

    return not isinstance(data, Corpus) and Path(os.fspath(data)).expanduser().is_file()


def _data_name(data) -> str:
    from .corpus import Corpus

    return data.name if isinstance(data, Corpus) else os.fspath(data)


def _encode(tokenizer, corpus, labels, index: dict, max_length: int, *, unknown: int) -> tuple[list, int]:
    """One dict per sentence (input ids, mask, labels on first pieces); and the count of words left out."""
    enc = tokenizer(corpus.sentences, is_split_into_words=True, truncation=True, max_length=max_length)
    items, lost = [], 0
    for i, words in enumerate(corpus.sentences):
        wids = enc.word_ids(i)
        lab, prev, covered = [-100] * len(wids), None, set()
        for t, w in enumerate(wids):
            if w is not None and w != prev:
                lab[t] = index.get(labels[i][w], unknown)
                covered.add(w)
            prev = w
        lost += len(words) - len(covered)
        item = {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": lab}
        if "token_type_ids" in enc:
            item["token_type_ids"] = enc["token_type_ids"][i]
        items.append(item)
    return items, lost


def _pad(items: list[dict], pad_id: int):
    import torch

    n = max(len(it["input_ids"]) for it in items)
    out = {}
    for k in items[0]:
        fill = pad_id if k == "input_ids" else (-100 if k == "labels" else 0)
        out[k] = torch.tensor([it[k] + [fill] * (n - len(it[k])) for it in items], dtype=torch.long)
    return out


# ---------------------------------------------------------------------------------------------- model


def _tagger(encoder, n_classes: int, dropout: float, seed: int):
    import torch

    class Tagger(torch.nn.Module):
        """The encoder, dropout and a linear head over the last hidden state."""

        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.head = torch.nn.Linear(encoder.config.hidden_size, n_classes)

        def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
            kw = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kw).last_hidden_state
            logits = self.head(self.dropout(hidden))
            out = {"logits": logits}
            if labels is not None:
                out["loss"] = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                                labels.reshape(-1), ignore_index=-100)
            return out

    return Tagger()


def _accuracy(tagger, items, pad_id, batch_size, device, progress, desc) -> float:
    """Word accuracy: the argmax at each word's first piece (a label outside the classes counts as wrong)."""
    import torch
    from tqdm.auto import tqdm

    tagger.eval()
    right = total = 0
    order = sorted(range(len(items)), key=lambda i: len(items[i]["input_ids"]))  # less padding
    with torch.no_grad():
        for s in tqdm(range(0, len(order), batch_size * 2), desc=desc, disable=not progress, leave=False):
            batch = _pad([items[i] for i in order[s:s + batch_size * 2]], pad_id)
            labels = batch.pop("labels").to(device)
            logits = tagger(**{k: v.to(device) for k, v in batch.items()})["logits"]
            keep = labels != -100
            right += int((logits.argmax(-1)[keep] == labels[keep]).sum())
            total += int(keep.sum())
    return right / total if total else float("nan")


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name or ".norm" in name


def _optimizer(tagger, cfg: FinetuneConfig, steps: int):
    import torch
    from transformers import get_linear_schedule_with_warmup

    groups = [{"params": [p for n, p in tagger.named_parameters() if not _no_decay(n)],
               "weight_decay": cfg.weight_decay},
              {"params": [p for n, p in tagger.named_parameters() if _no_decay(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
    return opt, sched


def _save_atomic(obj, path: Path) -> None:
    import torch

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _train_torch(tagger, items, cfg, device, pad_id, partial: Path, progress) -> list[float]:
    """Plain loop; after each epoch a checkpoint (weights, optimiser, schedule, RNG) replaces the last one."""
    import torch
    from tqdm.auto import tqdm

    per_epoch = math.ceil(len(items) / cfg.batch_size)
    opt, sched = _optimizer(tagger, cfg, per_epoch * cfg.epochs)
    losses, start = [], 0
    ckpt = partial / "checkpoint.pt"
    if ckpt.is_file():
        try:
            state = torch.load(ckpt, map_location=device, weights_only=False)
            tagger.load_state_dict(state["tagger"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            torch.random.set_rng_state(state["rng"])
            losses, start = list(state["losses"]), int(state["epoch"])
            logger.info("resuming the fine-tune at epoch %d of %d from %s", start + 1, cfg.epochs, ckpt)
        except Exception as exc:  # noqa: BLE001 - a damaged checkpoint only costs starting over
            logger.warning("ignoring the unreadable checkpoint %s (%s); starting over", ckpt, exc)
            losses, start = [], 0
    bar = tqdm(total=per_epoch * cfg.epochs, initial=per_epoch * start, desc="fine-tune", disable=not progress)
    try:
        for epoch in range(start, cfg.epochs):
            tagger.train()
            order = torch.randperm(len(items), generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
            total, n = 0.0, 0
            for s in range(0, len(items), cfg.batch_size):
                batch = {k: v.to(device) for k, v in
                         _pad([items[i] for i in order[s:s + cfg.batch_size].tolist()], pad_id).items()}
                loss = tagger(**batch)["loss"]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(tagger.parameters(), 1.0)
                opt.step()
                sched.step()
                total, n = total + loss.item(), n + 1
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{total / n:.3f}")
            losses.append(total / n)
            logger.info("fine-tune epoch %d/%d: mean training loss %.4f", epoch + 1, cfg.epochs, losses[-1])
            partial.mkdir(parents=True, exist_ok=True)
            _save_atomic({"tagger": tagger.state_dict(), "optimizer": opt.state_dict(),
                          "scheduler": sched.state_dict(), "rng": torch.random.get_rng_state(),
                          "losses": losses, "epoch": epoch + 1}, ckpt)
    finally:
        bar.close()
    return losses


def _BarCallback(progress: bool):
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class Bar(TrainerCallback):
        """A tqdm.auto bar over the Trainer's steps (its own callbacks print their logs)."""

        def on_train_begin(self, args, state, control, **kw):
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="fine-tune",
                            disable=not progress)

        def on_step_end(self, args, state, control, **kw):
            self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                self.bar.set_postfix(epoch=round(state.epoch or 0), loss=f"{float(logs['loss']):.3f}")
                logger.info("fine-tune epoch %s: training loss %s", logs.get("epoch"), logs["loss"])

        def on_train_end(self, args, state, control, **kw):
            self.bar.close()

    return Bar()


def _train_transformers(tagger, items, cfg, device, tokenizer, partial: Path, progress) -> list[float]:
    """transformers' Trainer over the same tagger, optimiser and schedule; resumes from its own checkpoint."""
    import importlib.util

    if importlib.util.find_spec("accelerate") is None:  # the Trainer needs it on torch
        raise ImportError("FinetuneConfig(loop='transformers') needs the accelerate package: "
                          "pip install 'neuronbook[finetune]' (or use the default loop='torch')")
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    pad_id = tokenizer.pad_token_id or 0
    per_epoch = math.ceil(len(items) / cfg.batch_size)
    opt, sched = _optimizer(tagger, cfg, per_epoch * cfg.epochs)
    args = TrainingArguments(
        output_dir=str(partial / "trainer"), num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, max_grad_norm=1.0, seed=cfg.seed, data_seed=cfg.seed,
        save_strategy="epoch", save_total_limit=1, logging_strategy="epoch", report_to=[],
        disable_tqdm=True, use_cpu=device == "cpu", remove_unused_columns=False,
        dataloader_num_workers=0)
    trainer = Trainer(model=tagger, args=args, train_dataset=items, optimizers=(opt, sched),
                      data_collator=lambda batch: _pad(batch, pad_id))
    # the Trainer prints its logs (PrinterCallback): library code never prints; a tqdm.auto bar instead
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(_BarCallback(progress))
    last = None
    if (partial / "trainer").is_dir():
        done = sorted((partial / "trainer").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
        last = str(done[-1]) if done else None
        if last:
            logger.info("resuming the fine-tune from %s", last)
    trainer.train(resume_from_checkpoint=last)
    tagger.to(device)
    return [float(r["loss"]) for r in trainer.state.log_history if "loss" in r and "epoch" in r]


# ------------------------------------------------------------------------------------------------ main


def finetune_key(model, data, task, config: FinetuneConfig | None = None, **settings_) -> str:
    """The content key a fine-tune would be saved under (nothing is trained; the corpus is read).

    Examples
    --------
    >>> from neuronbook.corpus import Corpus
    >>> c = Corpus([["a", "cat"]], {"upos": [["DET", "NOUN"]]}, name="toy")
    >>> finetune_key("tiny-random", c, "upos", eval_split=None) == finetune_key("tiny-random", c, "upos",
    ...                                                                          eval_split=None)
    True
    """
    cfg = (config or FinetuneConfig()).replace(**settings_) if settings_ else (config or FinetuneConfig())
    return _plan(model, data, task, cfg, eval_data=None)["key"]


def _plan(model, data, task, cfg: FinetuneConfig, eval_data) -> dict:
    from .corpus import Corpus, Task
    from .models import model_identity
    from .store import content_key

    if isinstance(data, Corpus):
        train = data
    else:
        train = _corpus(data, cfg.split)
    if cfg.max_sentences is not None:
        train = train.sample(cfg.max_sentences, seed=cfg.seed)
    task_obj = task if isinstance(task, Task) else Task(task)
    ident = model_identity(model)
    fields = {"format": _FORMAT, "base_fingerprint": ident["fingerprint"], "base_model": ident["model"],
              "data": _data_name(data), "train_corpus": train.fingerprint(), "task": task_obj.get_params(),
              "settings": cfg.to_dict(),
              "eval": None if eval_data is None else (eval_data.fingerprint() if isinstance(eval_data, Corpus)
                                                      else os.fspath(eval_data))}
    return {"key": content_key(fields), "fields": fields, "train": train, "task": task_obj, "identity": ident}


def finetune(model, data, task, config: FinetuneConfig | None = None, *, eval_data=None, device: str | None = None,
             rebuild: bool = False, progress: bool | str = "auto", **settings_) -> FinetunedModel:
    """Fine-tune ``model`` as a word tagger for ``task`` on ``data``; save it under a content key; return its name.

    Parameters
    ----------
    model : str or path
        The base model: a preset, a local folder, a Hub id, or ``"finetuned:<key>"``.
    data : str or Corpus
        A named corpus (``"ud:en_ewt"``, ``"pmb:en"``; its ``config.split`` is trained on, its
        ``config.eval_split`` measures the tagger), a corpus file or a :class:`~neuronbook.corpus.Corpus`
        (trained on whole; the accuracy is then measured on ``eval_data`` only).
    task : str or Task
        The labels, through :class:`~neuronbook.corpus.Task` (``"upos"``, ``"xpos"``, ``"sem"``, ...), fitted on
        the training sentences.
    config : FinetuneConfig, optional
        The settings; keyword arguments (``epochs=1``) override them, an unknown one is an error.
    eval_data : str or Corpus, optional
        The held-out corpus the accuracy is measured on instead of ``data``'s ``eval_split`` (needed when
        ``data`` is a Corpus; without it nothing is measured then).
    device : str, optional
        Default :func:`neuronbook.extraction.best_device` (the GPU when there is one).
    rebuild : bool
        Train again from scratch even when a complete fine-tune (or an interrupted one's checkpoint) with the
        same key exists; the complete one is replaced.
    progress : bool or "auto"
        A tqdm bar over the training steps.

    Returns
    -------
    FinetunedModel
        ``name`` (``"finetuned:<key>"``), ``path``, ``metadata`` (with ``accuracy``), ``reused``.

    Notes
    -----
    The accuracy is over the held-out words whose first piece fits in ``max_length``; a held-out word whose tag
    the training sentences never had counts as wrong (the tagger cannot predict it). On the CPU a resumed
    fine-tune is the uninterrupted one bit for bit (weights, optimiser, schedule and random state are in the
    checkpoint); on a GPU its dropout draws differ. The device is recorded, not part of the key.

    Warns
    -----
    ClippedWordsWarning
        Words past ``max_length`` pieces, which are neither trained on nor scored.
    """
    import torch

    from .extraction import best_device
    from .models import load_model

    cfg = config or FinetuneConfig()
    if not isinstance(cfg, FinetuneConfig):
        raise TypeError(f"config must be a FinetuneConfig, got {type(cfg).__name__}")
    if settings_:
        cfg = cfg.replace(**settings_)
    plan = _plan(model, data, task, cfg, eval_data)
    key, train, task_obj = plan["key"], plan["train"], plan["task"]
    name = _ft.finetuned_name(key)
    target = settings.cache_dir("models", "finetuned", key)
    if not rebuild and _ft._complete(target):
        try:
            folder = _ft.finetuned_dir(name)
        except OSError as exc:
            logger.warning("%s; training it again", exc)
        else:
            logger.info("reusing the fine-tune %s at %s", name, folder)
            return FinetunedModel(name, key, folder, finetuned_metadata(name), reused=True)

    t0 = time.perf_counter()
    device = device or best_device()
    from .corpus import Corpus

    if eval_data is not None:
        held_out = _corpus(eval_data, None) if not isinstance(eval_data, Corpus) else eval_data
    elif cfg.eval_split is not None and not isinstance(data, Corpus) and not _is_file(data):
        held_out = _corpus(data, cfg.eval_split)
    else:
        held_out = None
    task_obj.fit(train)
    classes = list(task_obj.classes_)
    index = {c: i for i, c in enumerate(classes)}
    encoder, tokenizer = load_model(model, device=device, progress=progress)
    limit = plan["identity"].get("max_length") or 512
    max_length = min(cfg.max_length or limit, limit)
    items, lost = _encode(tokenizer, train, task_obj.transform(train), index, max_length, unknown=-100)
    eval_items, eval_lost = ([], 0) if held_out is None else _encode(
        tokenizer, held_out, task_obj.transform(held_out), index, max_length, unknown=len(classes))
    for n, where in ((lost, train.name), (eval_lost, getattr(held_out, "name", ""))):
        if n:
            warnings.warn(f"{n} words of {where} lie past {max_length} pieces: they are neither trained on nor "
                          "scored (raise max_length or split the sentences)", ClippedWordsWarning, stacklevel=2)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tagger = _tagger(encoder, len(classes), cfg.dropout, cfg.seed).to(device)
    show = settings.progress_enabled(progress)
    before = (_accuracy(tagger, eval_items, pad_id, cfg.batch_size, device, show, "score before")
              if eval_items else None)
    partial = target.parent / f".{key}.partial"
    if rebuild:  # from scratch: an earlier interrupted run's checkpoint is not resumed either
        shutil.rmtree(partial, ignore_errors=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if cfg.loop == "torch":
            losses = _train_torch(tagger, items, cfg, device, pad_id, partial, show)
        else:
            losses = _train_transformers(tagger, items, cfg, device, tokenizer, partial, show)
    after = (_accuracy(tagger, eval_items, pad_id, cfg.batch_size, device, show, "score after")
             if eval_items else None)
    import transformers

    meta = {"name": name, "key": key, "format": _FORMAT, "base_model": plan["identity"]["model"],
            "base_fingerprint": plan["identity"]["fingerprint"], "data": _data_name(data),
            "train_corpus": train.name, "train_sentences": len(train), "train_words": train.n_words,
            "train_fingerprint": train.fingerprint(), "task": task_obj.get_params(), "classes": classes,
            "settings": cfg.to_dict(), "train_loss": losses,
            "eval_data": None if held_out is None else held_out.name,
            "eval_words": sum(sum(1 for x in it["labels"] if x != -100) for it in eval_items),
            "accuracy_before": before, "accuracy": after, "words_past_max_length": lost + eval_lost,
            "device": str(device), "seconds": round(time.perf_counter() - t0, 1),
            "torch": torch.__version__, "transformers": transformers.__version__}

    def build(tmp: Path) -> dict:
        from safetensors.torch import save_file
        from transformers.utils import logging as hf_logging

        enc = tagger.encoder.to("cpu")
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            enc.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        save_file({k: v.detach().cpu().contiguous() for k, v in tagger.head.state_dict().items()}, tmp / _ft.HEAD)
        (tmp / _ft.METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return {"finetune": meta}

    def checked(tmp: Path) -> list[str]:
        from .models.identity import CONFIG_FILE, TOKENIZER_FILES

        names = ["model.safetensors", CONFIG_FILE, *TOKENIZER_FILES, _ft.HEAD, _ft.METADATA]
        return [n for n in names if (tmp / n).is_file()]

    from .models.cache import atomic_build

    atomic_build(target, build, {"format": _FORMAT, "kind": "finetuned", "name": name}, checksum_files=checked)
    shutil.rmtree(partial, ignore_errors=True)
    logger.info("fine-tuned %s into %s in %.0f s (accuracy %s -> %s)", plan["identity"]["model"], name,
                meta["seconds"], before, after)
    return FinetunedModel(name, key, target, meta, reused=False)

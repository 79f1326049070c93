"""A LLaMA-Factory training config and the command that runs it, for teams that train on their
own GPUs: written next to the export's ShareGPT files and dataset_info.json, never run here.

The loss falls on the supporter turns only, as LLaMA-Factory does for a sharegpt dataset: the
human turns and the system prompt are masked while `train_on_prompt` is false, and every gpt
turn of a dialogue is trained (not only the last) while `mask_history` is false. Both are
written out, so a changed default upstream cannot change what is trained.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from csc.finetune.jobs import ExportRef, NotTrainable

TRAIN, VALIDATION = "csc_rolecs_sharegpt_train", "csc_rolecs_sharegpt_validation"
# LLaMA-Factory's chat template per base model family: the first fragment found in the
# lower-cased model name wins, so the longer names come first.
TEMPLATES = (("qwen3", "qwen3"), ("qwen", "qwen"), ("llama-3", "llama3"), ("llama3", "llama3"),
             ("llama-2", "llama2"), ("chatglm3", "chatglm3"), ("glm-4", "glm4"),
             ("glm4", "glm4"), ("baichuan2", "baichuan2"), ("mistral", "mistral"),
             ("gemma", "gemma"))


@dataclass(frozen=True)
class Written:
    config: Path  # the YAML
    script: Path  # a shell script holding the command
    command: str  # `llamafactory-cli train <config>`


def template_for(base_model: str) -> str | None:
    """LLaMA-Factory's template for a model name, or None when the family is not known."""
    name = base_model.lower()
    return next((t for fragment, t in TEMPLATES if fragment in name), None)


def slug(base_model: str) -> str:
    """A file-name-safe form of the model name: `Qwen/Qwen2.5-7B-Instruct` ->
    `qwen-qwen2.5-7b-instruct`."""
    return re.sub(r"[^a-z0-9._]+", "-", base_model.lower()).strip("-.") or "model"


def training_config(export: ExportRef, base_model: str, template: str, *,
                    finetuning_type: str = "lora") -> dict[str, Any]:
    """The YAML's content: SFT of `base_model` on the export's ShareGPT train split, evaluated
    on its validation split when there is one; cutoff_len is the export's token limit, so no
    example is cut."""
    info = json.loads((export.path / "dataset_info.json").read_text(encoding="utf-8"))
    manifest = json.loads((export.path / "manifest.json").read_text(encoding="utf-8"))
    config: dict[str, Any] = {
        "model_name_or_path": base_model,
        "stage": "sft", "do_train": True, "finetuning_type": finetuning_type,
        **({"lora_target": "all", "lora_rank": 8} if finetuning_type == "lora" else {}),
        "dataset_dir": str(export.path), "dataset": TRAIN, "template": template,
        "train_on_prompt": False,  # loss on the gpt (supporter) turns only
        "mask_history": False,  # every supporter turn of a dialogue, not only the last
        "cutoff_len": int(manifest["max_tokens"]),
        "overwrite_cache": True, "preprocessing_num_workers": 4,
        "output_dir": str(export.path / "llamafactory" / slug(base_model)),
        "logging_steps": 10, "save_steps": 500, "plot_loss": True,
        "overwrite_output_dir": False,
        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 8,
        "learning_rate": 1.0e-4, "num_train_epochs": 3.0, "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1, "bf16": True,
    }
    if VALIDATION in info:
        config.update({"eval_dataset": VALIDATION, "per_device_eval_batch_size": 1,
                       "eval_strategy": "steps", "eval_steps": 500})
    return config


def write_config(export: ExportRef, base_model: str, template: str | None = None, *,
                 finetuning_type: str = "lora") -> Written:
    """Write `llamafactory.<model>.yaml` and `llamafactory.<model>.sh` into the export's
    folder; NotTrainable when it has no ShareGPT train file or the template is unknown."""
    info_path = export.path / "dataset_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    if TRAIN not in info or not (export.path / info[TRAIN]["file_name"]).is_file():
        raise NotTrainable(f"export {export.export_id} has no ShareGPT train file in "
                           f"{export.path}: make one with `csc export sft --format sharegpt` "
                           "(or all)")
    template = template or template_for(base_model)
    if template is None:
        raise NotTrainable(f"no LLaMA-Factory template known for '{base_model}': name one "
                           "with --template (e.g. qwen, llama3, glm4)")
    config = training_config(export, base_model, template, finetuning_type=finetuning_type)
    name = f"llamafactory.{slug(base_model)}"
    yaml_path, script = export.path / f"{name}.yaml", export.path / f"{name}.sh"
    header = (f"# LLaMA-Factory SFT of {base_model} on csc export {export.export_id}.\n"
              f"# Run: llamafactory-cli train {yaml_path}\n"
              "# train_on_prompt and mask_history are false: the loss is on every supporter\n"
              "# (gpt) turn, never on the customer turns or the system prompt.\n")
    yaml_path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    command = f"llamafactory-cli train {shlex.quote(str(yaml_path))}"
    script.write_text(f"#!/bin/sh\n# written by csc, not run by it\nexec {command}\n",
                      encoding="utf-8")
    script.chmod(0o755)
    return Written(yaml_path, script, command)

"""The LLaMA-Factory config writer (csc/finetune/providers/llamafactory.py): the YAML and the
command written next to a real export's ShareGPT files, loss on supporter turns only, the
template from the model name, and clear refusals. Nothing is run."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from helpers import rolecs_accepted as _accepted
from test_finetune_export import EN, ZH, _many

from cli.main import main
from csc.finetune.export import ExportConfig, build_export
from csc.finetune.jobs import ExportRef, NotTrainable
from csc.finetune.providers.llamafactory import (
    TRAIN,
    VALIDATION,
    slug,
    template_for,
    write_config,
)
from csc.finetune.service import run_trigger, write_folder
from warehouse.db import connect


def _export(tmp_path, dialogues, formats=("openai", "sharegpt", "instruction"),
            max_tokens=16_000) -> ExportRef:
    export = build_export(dialogues, ExportConfig(formats=formats, max_tokens=max_tokens))
    return ExportRef(export.export_id, write_folder(export, tmp_path / "finetune"))


def test_the_config_trains_the_sharegpt_split_with_loss_on_supporter_turns(tmp_path):
    export = _export(tmp_path, _many(30), max_tokens=9000)
    written = write_config(export, "Qwen/Qwen2.5-7B-Instruct")
    assert written.config == export.path / "llamafactory.qwen-qwen2.5-7b-instruct.yaml"
    config = yaml.safe_load(written.config.read_text(encoding="utf-8"))
    info = json.loads((export.path / "dataset_info.json").read_text(encoding="utf-8"))
    assert config["dataset_dir"] == str(export.path)
    assert config["dataset"] == TRAIN and info[TRAIN]["file_name"] == "sharegpt.train.jsonl"
    assert config["eval_dataset"] == VALIDATION and VALIDATION in info
    assert info[TRAIN]["formatting"] == "sharegpt" and info[TRAIN]["tags"]["assistant_tag"] == "gpt"
    assert config["train_on_prompt"] is False and config["mask_history"] is False
    assert (config["stage"], config["do_train"], config["template"]) == ("sft", True, "qwen")
    assert config["model_name_or_path"] == "Qwen/Qwen2.5-7B-Instruct"
    assert config["cutoff_len"] == 9000  # the export's limit: no example is cut
    assert config["finetuning_type"] == "lora" and config["lora_target"] == "all"
    assert config["output_dir"] == str(export.path / "llamafactory" /
                                       "qwen-qwen2.5-7b-instruct")
    assert written.command == f"llamafactory-cli train {written.config}"
    assert written.script.read_text(encoding="utf-8").splitlines()[-1] == \
        f"exec {written.command}"
    assert os.access(written.script, os.X_OK)
    assert "# Run: llamafactory-cli train " in written.config.read_text(encoding="utf-8")


def test_an_export_without_validation_has_no_eval_dataset_and_full_tuning_no_lora(tmp_path):
    export = _export(tmp_path, [ZH, EN])  # 2 dialogues: no validation split
    assert not (export.path / "sharegpt.validation.jsonl").exists()
    written = write_config(export, "meta-llama/Meta-Llama-3.1-8B-Instruct",
                           finetuning_type="full")
    config = yaml.safe_load(written.config.read_text(encoding="utf-8"))
    assert "eval_dataset" not in config and "eval_strategy" not in config
    assert config["template"] == "llama3" and config["finetuning_type"] == "full"
    assert "lora_target" not in config and "lora_rank" not in config


@pytest.mark.parametrize(("model", "template"), [
    ("Qwen/Qwen2.5-7B-Instruct", "qwen"), ("Qwen/Qwen3-8B", "qwen3"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3"), ("llama3-8b", "llama3"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama2"), ("THUDM/glm-4-9b-chat", "glm4"),
    ("THUDM/chatglm3-6b", "chatglm3"), ("baichuan-inc/Baichuan2-7B-Chat", "baichuan2"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"), ("google/gemma-7b-it", "gemma"),
    ("my-own-model", None),
])
def test_the_template_comes_from_the_model_family(model, template):
    assert template_for(model) == template


def test_slugs_are_file_names():
    assert slug("Qwen/Qwen2.5-7B-Instruct") == "qwen-qwen2.5-7b-instruct"
    assert slug("/models/local model/") == "models-local-model" and slug("///") == "model"


def test_an_unknown_family_needs_a_template_and_a_named_one_is_used(tmp_path):
    export = _export(tmp_path, [ZH, EN])
    with pytest.raises(NotTrainable, match="no LLaMA-Factory template known for 'my-model'"):
        write_config(export, "my-model")
    config = yaml.safe_load(write_config(export, "my-model", "qwen").config.read_text(
        encoding="utf-8"))
    assert config["template"] == "qwen"


def test_an_export_without_sharegpt_files_is_refused(tmp_path):
    export = _export(tmp_path, [ZH, EN], formats=("openai",))
    with pytest.raises(NotTrainable, match=r"no ShareGPT train file .* --format sharegpt"):
        write_config(export, "Qwen/Qwen2.5-7B-Instruct")
    assert not list(export.path.glob("llamafactory.*"))


def test_csc_finetune_llamafactory_writes_next_to_the_newest_export(warehouse, capsys):
    with connect(warehouse) as con:
        _accepted(con, [ZH, EN])
    path = run_trigger(force=True).path
    assert main(["finetune", "llamafactory", "--base-model", "THUDM/glm-4-9b-chat"]) == 0
    out = capsys.readouterr().out.splitlines()
    config = path / "llamafactory.thudm-glm-4-9b-chat.yaml"
    assert out == [f"config: {config}", f"command (not run): llamafactory-cli train {config}"]
    assert main(["finetune", "llamafactory", "--base-model", "x"]) == 2
    assert "name one with --template" in capsys.readouterr().err

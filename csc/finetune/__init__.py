"""Supervised fine-tuning exports of the accepted RoleCS set and the trigger that decides when
one is due (docs/finetune.md). Pure functions and one service; no LLM call, no Prefect."""

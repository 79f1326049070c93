"""`csc finetune`: train on an SFT export at a provider (run), list the jobs (jobs), or write a
LLaMA-Factory config and command (llamafactory). No Prefect server: a job is one call of
csc.finetune.jobs.run_job, resumable by rerunning the same command (docs/finetune.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SIMULATED = ("csc: the fine-tuning endpoint is the offline simulator: its 'fine-tuned model' is "
             "a stand-in, not a trained model. Never report it as one.")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds > 0")
    return value


def add_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = command("finetune", "fine-tune a model on an SFT export at a provider (run), list the "
                            "jobs (jobs), or write a LLaMA-Factory config (llamafactory)")
    p.add_argument("action", choices=["run", "jobs", "llamafactory"],
                   help="run: start the job, or resume or show the one that exists, and wait "
                        "for it; jobs: every recorded job; llamafactory: write the config and "
                        "command next to the export (not run)")
    p.add_argument("--provider", choices=["openai", "local"], default=None,
                   help="run: openai, the OpenAI-compatible fine-tuning API at "
                        "CSC_LLM_BASE_URL with CSC_LLM_API_KEY; local, the CPU classifier "
                        "baseline (default: $CSC_FINETUNE_PROVIDER, else local)")
    p.add_argument("--base-model", metavar="MODEL",
                   help="the model to fine-tune (default for run: $CSC_FINETUNE_BASE_MODEL, "
                        "else the provider's own: the endpoint's candidate model for openai; "
                        "llamafactory: required)")
    p.add_argument("--export", metavar="ID",
                   help="the export to train on (default: the newest)")
    p.add_argument("--suffix", metavar="TEXT",
                   help="run: the provider's suffix for the fine-tuned model's name "
                        "(default: none)")
    p.add_argument("--timeout", type=_positive_seconds, metavar="SECONDS",
                   help="run: the most to wait before cancelling the job (default: "
                        "$CSC_FINETUNE_TIMEOUT_S, else 21600)")
    p.add_argument("--template", metavar="NAME",
                   help="llamafactory: LLaMA-Factory's chat template (default: from the model "
                        "name: qwen, llama3, glm4, ...)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"csc: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    if args.action == "jobs":
        return _jobs()
    if args.action == "llamafactory":
        if not args.base_model:
            return _fail("finetune llamafactory needs --base-model MODEL")
        return _llamafactory(args)
    if args.template:
        return _fail("--template: for llamafactory only")
    from csc.finetune.launch import default_base, provider_named, train
    from csc.settings import current

    chosen = args.provider or current().finetune_provider
    if chosen == "off":
        return _fail("CSC_FINETUNE_PROVIDER is off: pass --provider local or openai")
    provider = provider_named(chosen)
    base_model = args.base_model or current().finetune_base_model or default_base(chosen)
    if getattr(provider, "simulated", False):
        print(SIMULATED, file=sys.stderr, flush=True)
    job = train(provider, base_model, export_id=args.export, suffix=args.suffix,
                timeout_s=args.timeout)
    if ":csc-sim:" in (job.fine_tuned_model or "") and not getattr(provider, "simulated", False):
        print(SIMULATED, file=sys.stderr, flush=True)  # a simulator reached by its URL
    print(f"{job.status}: job {job.job_key} ({job.provider} {job.provider_job_id}), "
          f"{job.base_model} on export {job.export_id}")
    if job.fine_tuned_model:
        print(f"fine-tuned model: {job.fine_tuned_model}")
    if job.error:
        print(f"error: {job.error}")
    return EXIT_OK if job.status == "succeeded" else EXIT_FAILED


def _llamafactory(args: argparse.Namespace) -> int:
    if args.suffix or args.timeout:
        return _fail("--suffix, --timeout: for run only")
    from csc.finetune.launch import export_ref
    from csc.finetune.providers.llamafactory import write_config

    written = write_config(export_ref(args.export), args.base_model, args.template)
    print(f"config: {written.config}")
    print(f"command (not run): {written.command}")
    return EXIT_OK


def _jobs() -> int:
    from csc.finetune.launch import jobs

    rows = jobs()
    if not rows:
        print("no fine-tune job yet")
    for key, provider, base, export_id, status, job_id, model, error, started, _ in rows:
        result = model or error or ""
        print(f"{started:%Y-%m-%d %H:%M} {key} {provider} {base} export {export_id} "
              f"{status} {job_id or '-'} {result}".rstrip())
    return EXIT_OK

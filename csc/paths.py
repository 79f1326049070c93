"""Where the project's own files live (the repo is installed editable, so this is the checkout)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples" / "raw"

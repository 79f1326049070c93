"""Evaluation of support models per supporter turn (csc-method §5): predictions, metrics with
bootstrap intervals, the leaderboard and the report."""

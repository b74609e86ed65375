"""Simulation evaluation runs (`vla eval`): success rates with intervals, videos, eval_info.json."""

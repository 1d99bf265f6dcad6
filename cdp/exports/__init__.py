"""Consent-aware segment exports with eligibility, suppression, stable holdouts and manifests.

``build_export`` writes the channel's minimal contact fields for the eligible members of a segment
(CSV neutralized against formula injection, or Parquet), atomically, and a JSON manifest beside it
whose counts reconcile: members = excluded (by reason) + holdout + exported.
"""

from __future__ import annotations

from cdp.exports.build import CHANNEL_FIELDS, ExportManifest, build_export, manifest_path_for
from cdp.exports.eligibility import CHANNELS, PURPOSES, REASONS, apply_eligibility
from cdp.exports.holdout import holdout_score, in_holdout
from cdp.exports.writer import neutralize_formulas, write_export_file

__all__ = [
    "CHANNELS",
    "CHANNEL_FIELDS",
    "PURPOSES",
    "REASONS",
    "ExportManifest",
    "apply_eligibility",
    "build_export",
    "holdout_score",
    "in_holdout",
    "manifest_path_for",
    "neutralize_formulas",
    "write_export_file",
]

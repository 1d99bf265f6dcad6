"""Synthetic bank generator: the extracts of four bank systems with ground truth.

``generate_bank`` writes what a core-banking ledger, a card processor, a mortgage platform and a
digital channel would emit for one population (each in its own layout, keys and conventions,
with calibrated noise), plus ``truth.csv`` (record -> true person) and a ready ``sources.yaml``.
"""

from __future__ import annotations

from cdp.synth.bank import STEPS, GenerationSummary, generate_bank
from cdp.synth.noise import NOISE_RATES

__all__ = ["NOISE_RATES", "STEPS", "GenerationSummary", "generate_bank"]

"""OpenCompass's MedBench rule for choice answers, for comparison only (spec section 7): remove a list of medical
acronyms, then take every capital letter A–Z left in the output, in order, as the answer list.

It lives with the tests on purpose: the site never scores with it; the corpus test measures it beside the
extractor so that the Methodology page can state the difference.
"""
from __future__ import annotations

import re

# Medical acronyms removed first (the kind OpenCompass's list holds: imaging, scores, lab tests, diseases).
ACRONYMS = ("CTPA", "CTA", "CT", "MRI", "MRCP", "ERCP", "NYHA", "ECG", "EKG", "HIV", "DNA", "RNA", "ACEI", "ARB", "ACS",
            "COPD", "ICU", "BMI", "INR", "TSH", "PPD", "GERD", "DSA", "PET", "HbA1c", "CK-MB", "cTnI", "T-SPOT", "OGTT",
            "IFG", "WHO", "ABC", "PE", "AD", "CHA2DS2-VASc", "GABA")
_ACRONYM = re.compile("|".join(re.escape(a) for a in sorted(ACRONYMS, key=len, reverse=True)))


def opencompass_letters(output: str) -> list[str]:
    """Every capital letter A–Z left after removing the acronyms, in order (``\\boxed`` etc. untouched)."""
    return re.findall(r"[A-Z]", _ACRONYM.sub("", output or ""))

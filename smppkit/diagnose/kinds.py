"""Which rows of an event table are receipts and responses: one rule, as pandas and as SQL.

The analyses (`smppkit.diagnose.analysis`), the receipt doctor (`smppkit.diagnose.doctor`)
and the portable queries (`smppkit.diagnose.queries`, `smppkit.diagnose.doctor_sql`) all
ask these questions of a row; each derives its answer from here, and the SQL is generated
from the same constants as the masks.

- a receipt is a deliver_sm or data_sm whose esm_class message type (bits 5-2) is 0x04,
  0x08 or 0x20 (`smppkit.sms.receipts.is_receipt`, SMPP v3.4 §5.2.12), or from which a
  receipt ``stat`` was read (logs that give no esm_class, such as Kannel's access.log);
- a response is a ``*_resp`` command or generic_nack (§4.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smppkit.sms.receipts import MESSAGE_TYPE_MASK, RECEIPT_COMMANDS, RECEIPT_MESSAGE_TYPES

__all__ = ["receipt_mask", "receipt_sql", "response_mask", "response_sql"]


def receipt_mask(command: pd.Series, esm_class: pd.Series, has_stat: pd.Series) -> np.ndarray:
    """Which rows are receipts: `command`, `esm_class` (NA or NaN when absent) and
    whether a receipt stat was read, row by row."""
    msg = command.isin(RECEIPT_COMMANDS).to_numpy(dtype=bool, na_value=False)
    esm = pd.to_numeric(esm_class, errors="coerce").fillna(0).astype("int64")
    typ = (esm & MESSAGE_TYPE_MASK).isin(RECEIPT_MESSAGE_TYPES).to_numpy(dtype=bool)
    return msg & (typ | np.asarray(has_stat, dtype=bool))


def receipt_sql(command: str = "command", esm_class: str = "esm_class",
                has_stat: str = "receipt_stat IS NOT NULL") -> str:
    """`receipt_mask` as a SQL condition over the given column expressions."""
    commands = ", ".join(f"'{c}'" for c in RECEIPT_COMMANDS)
    types = ", ".join(str(t) for t in RECEIPT_MESSAGE_TYPES)
    return (f"({command} IN ({commands}) AND ((coalesce({esm_class}, 0) & {MESSAGE_TYPE_MASK}) "
            f"IN ({types}) OR {has_stat}))")


def response_mask(command: pd.Series) -> np.ndarray:
    """Which rows are responses (``*_resp`` or generic_nack -- SMPP v3.4 §4.3)."""
    command = command.astype("string")
    flags = command.str.endswith("_resp") | (command == "generic_nack")
    return flags.to_numpy(dtype=bool, na_value=False)


def response_sql(command: str = "command") -> str:
    """`response_mask` as a SQL condition."""
    return f"(right({command}, 5) = '_resp' OR {command} = 'generic_nack')"

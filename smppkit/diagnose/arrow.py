"""Small Arrow helpers shared by the log readers and the analyses.

pandas' "string" dtype is Arrow-backed here (pyarrow is a dependency), so a column of
strings built in Arrow reaches pandas without one Python object per value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["TO_PANDAS_TYPES", "strings_from_codes"]

#: `types_mapper` for `pyarrow.Table.to_pandas`: the trace schema's Int64 and "string"
TO_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(),
                   pa.large_string(): pd.StringDtype()}.get


def strings_from_codes(codes: np.ndarray, names: Any, index: pd.Index | None = None
                       ) -> pd.Series:
    """The "string" Series ``names[codes]``, with NA where a code is negative."""
    codes = np.asarray(codes)
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    names = pa.array(list(names), type=pa.string())
    decoded = pa.DictionaryArray.from_arrays(indices, names).dictionary_decode()
    return pd.Series(decoded.to_pandas(types_mapper=TO_PANDAS_TYPES), index=index)

"""What travels inside the PDUs: text encodings and concatenation, receipts, message ids,
the meanings of statuses and error codes, and `explain` (a PDU dumped field by field). No I/O."""

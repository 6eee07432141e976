"""Bytes <-> PDU objects, and a framer that cuts a byte stream into PDUs.

Strategy: `encode` and `decode` are compiled, once per PDU class, from the one field
declaration in `pdus.py` into straight-line functions; a decoder that meets anything
irregular hands the PDU to the step-by-step reader (`_decode_body`), the one place errors
come from. Every failure
of `decode` is a `RemoteProtocolError` carrying the status to answer with; arbitrary bytes
never escape as `struct.error`, `IndexError` or `UnicodeDecodeError`. The `Framer` refuses
a command_length above its maximum *before* buffering the body, so a hostile length can
not make us allocate.
"""

from __future__ import annotations

import struct
from typing import Any

from smppkit.protocol.constants import CommandId, CommandStatus
from smppkit.protocol.errors import InvalidArgument, RemoteProtocolError
from smppkit.protocol.pdus import PDU_CLASSES, Pdu
from smppkit.protocol.wire import CString, Int, ShortMessage, read_tlvs, tlv_bytes

__all__ = [
    "DEFAULT_MAX_COMMAND_LENGTH",
    "HEADER_LENGTH",
    "Framer",
    "body_may_be_absent",
    "decode",
    "encode",
    "peek_header",
]

_S = CommandStatus
_HEADER = struct.Struct(">IIII")
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from
_LENGTH = struct.Struct(">I")
#: "command_length ... the overall length of the SMPP PDU in octets" -- SMPP v3.4 §3.2
HEADER_LENGTH = 16
#: Default refusal limit for command_length. The largest legal v3.4 PDU is far smaller
#: except with message_payload (max 64 KiB, §5.3.2.32), hence 64 KiB plus headroom.
DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024 + 1024


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of `pdu`, with command_length and sm_length computed.

    A response with a non-zero command_status and an empty body is sent without a body, as
    SMPP v3.4 §4.4.2 and its siblings ask.
    """
    return _ENCODERS[pdu.__class__](pdu)  # type: ignore[no-any-return]


def _is_empty(pdu: Pdu) -> bool:
    return not pdu.tlvs and all(not getattr(pdu, name) for name, _ in pdu.body)


def peek_header(data: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of the first 16 octets.

    Raises:
        RemoteProtocolError: fewer than 16 octets (ESME_RINVCMDLEN).
    """
    if len(data) < HEADER_LENGTH:
        raise RemoteProtocolError(
            f"a PDU header is 16 octets, got {len(data)}", _S.ESME_RINVCMDLEN
        )
    return _HEADER.unpack_from(data, 0)


def decode(data: bytes) -> Pdu:
    """Decode exactly one PDU.

    Args:
        data: the whole PDU, header included; its length must equal command_length.

    Returns:
        An instance of the `Pdu` subclass named by command_id.

    Raises:
        RemoteProtocolError: with command_status ESME_RINVCMDLEN (bad length),
            ESME_RINVCMDID (unknown command_id), ESME_RINVMSGLEN (sm_length past the end),
            ESME_RINVOPTPARSTREAM / ESME_RINVPARLEN (bad TLVs), or the field's own status
            (e.g. ESME_RINVSYSID for an over-long system_id). `sequence_number` and
            `command_id` are set on the error whenever the header could be read.
    """
    if data.__class__ is not bytes:
        data = bytes(data)
    if len(data) < HEADER_LENGTH:
        peek_header(data)  # raises, with its message
    length, command_id, status, seq = _unpack_header(data)
    if length != len(data):
        raise RemoteProtocolError(
            f"command_length says {length} octets but the PDU has {len(data)}",
            _S.ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=command_id,
        )
    decoder = _DECODE_BY_ID.get(command_id)
    if decoder is None:
        raise RemoteProtocolError(
            f"unknown command_id 0x{command_id:08X}",
            _S.ESME_RINVCMDID,
            sequence_number=seq,
            command_id=command_id,
        )
    try:
        return decoder(data, status, seq)  # type: ignore[no-any-return]
    except RemoteProtocolError as exc:
        exc.sequence_number = seq
        exc.command_id = command_id
        raise


_BODY_MAY_BE_MISSING = frozenset(
    PDU_CLASSES[c] for c in (CommandId.deliver_sm_resp, CommandId.data_sm_resp)
)


def body_may_be_absent(cls: type[Pdu], command_status: int) -> bool:
    """True when a PDU of `cls` with this status may arrive as a bare 16-octet header.

    Error responses leave their body out (SMPP v3.4 §4.4.2 and siblings). Some ESMEs also
    leave the (unused, NULL) message_id out of deliver_sm_resp/data_sm_resp with status 0;
    it is accepted rather than nacking a receipt acknowledgement.
    """
    return bool(cls.omit_body_on_error and command_status) or cls in _BODY_MAY_BE_MISSING


def _decode_body(cls: type[Pdu], data: bytes, status: int, seq: int) -> Pdu:
    pdu = object.__new__(cls)
    set_status, set_seq, set_tlvs, steps = _PLANS[cls]
    set_status(pdu, status)
    set_seq(pdu, seq)
    end = len(data)
    pos = HEADER_LENGTH
    if pos == end and body_may_be_absent(cls, status):
        for name, _ in cls.body:
            object.__setattr__(pdu, name, cls.__dataclass_fields__[name].default)
        set_tlvs(pdu, ())
        return pdu
    for code, setter, arg, arg2, read in steps:
        if code is _CSTR:
            # the common case inline: NULL found within the limit (and a legal time length)
            nul = data.find(b"\x00", pos, pos + arg)
            if nul >= 0 and (arg2 is None or nul == pos or nul - pos == arg2):
                setter(pdu, data[pos:nul].decode("latin-1"))
                pos = nul + 1
                continue
        elif code is _U8_RUN and pos + arg <= end:
            for set_one, value in zip(setter, arg2(data, pos), strict=True):
                set_one(pdu, value)
            pos += arg
            continue
        if code is _U8_RUN:  # the body ends inside the run: one by one, for the exact error
            for set_one in setter:
                value, pos = _U8.read(data, pos)
                set_one(pdu, value)
        else:  # any other kind, or a C-Octet String the fast path did not accept
            value, pos = read(data, pos)
            setter(pdu, value)
    set_tlvs(pdu, read_tlvs(data, pos, end) if pos < end else ())
    return pdu


# --- decoding plans -----------------------------------------------------------------------
# Strategy: the field declaration in pdus.py is compiled, once per class, into a list of
# steps. Runs of 1-octet integers (TON, NPI, esm_class, ...) become one struct read, and a
# C-Octet String whose NULL lies within its limit is sliced in place; anything else (and
# every malformed value) goes through the kind's own `read`, so error statuses and messages
# come from wire.py alone.
# Fields are stored through the slot descriptors (frozen dataclasses refuse setattr).

_U8 = Int(1)


def _slot_setter(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__
    raise AssertionError(f"{cls.__name__}.{name} has no slot")  # pragma: no cover


_U8_RUN, _CSTR, _OTHER = "u8 run", "cstring", "other"


def _plan(cls: type[Pdu]) -> tuple[Any, ...]:
    """(set command_status, set sequence_number, set tlvs, steps) for one class.

    Each step is (code, setter(s), arg, arg2, read): a run of 1-octet integers
    (setters, count, unpack_from, None), a C-Octet String (setter, max_len, fixed, read) or
    anything else (setter, None, None, read).
    """
    steps: list[tuple[Any, ...]] = []
    run: list[Any] = []

    def flush() -> None:
        if run:
            unpack = struct.Struct(">" + "B" * len(run)).unpack_from
            steps.append((_U8_RUN, tuple(run), len(run), unpack, None))
            run.clear()

    for name, kind in cls.body:
        setter = _slot_setter(cls, name)
        if isinstance(kind, Int) and kind.size == 1:
            run.append(setter)
            continue
        flush()
        if isinstance(kind, CString):
            steps.append((_CSTR, setter, kind.max_len, kind.fixed, kind.read))
        else:
            steps.append((_OTHER, setter, None, None, kind.read))
    flush()
    return (
        _slot_setter(cls, "command_status"),
        _slot_setter(cls, "sequence_number"),
        _slot_setter(cls, "tlvs"),
        tuple(steps),
    )


_PLANS: dict[type[Pdu], tuple[Any, ...]] = {cls: _plan(cls) for cls in PDU_CLASSES.values()}


# --- compiled encoders and decoders -------------------------------------------------------
# Strategy: the same field declaration, compiled once per class into one straight-line
# function (the technique dataclasses uses for __init__; the source is built from field
# names and wire kinds only). An encoder writes every field; a decoder reads a well-formed
# body and, at the first octet it does not like, hands the whole PDU to `_decode_body`
# above, so every error status and message still comes from one place (wire.py).

_BYTE = tuple(bytes((i,)) for i in range(256))


def _source(lines: list[str], env: dict[str, Any], name: str) -> Any:
    exec("\n".join(lines), env)  # noqa: S102 -- source built from field names and kinds
    return env[name]


def _compile_encoder(cls: type[Pdu]) -> Any:
    """def encode_X(pdu) -> bytes: the body in wire order, then the header in front."""
    env: dict[str, Any] = {"pack": _pack_header, "join": b"".join, "BYTE": _BYTE, "NUL": b"\x00",
                           "tlv_bytes": tlv_bytes, "is_empty": _is_empty,
                           "cid": int(cls.command_id)}
    lines = ["def encode_pdu(pdu):",
             "    status = pdu.command_status",
             "    tlvs = pdu.tlvs"]
    if not cls.body:
        lines += ["    if not tlvs:",
                  "        return pack(16, cid, status, pdu.sequence_number)",
                  "    body = tlv_bytes(tlvs)"]
    else:
        if cls.omit_body_on_error:
            lines += ["    if status and is_empty(pdu):",
                      "        return pack(16, cid, status, pdu.sequence_number)"]
        parts: list[str] = []
        run: list[tuple[str, int]] = []

        def close_run() -> None:
            if run:
                fmt = ">" + "".join({1: "B", 2: "H", 4: "I"}[size] for _, size in run)
                env[f"ints{len(parts)}"] = struct.Struct(fmt).pack
                parts.append(f"ints{len(parts)}({', '.join(f'pdu.{n}' for n, _ in run)})")
                run.clear()

        for name, kind in cls.body:
            if isinstance(kind, Int):
                run.append((name, kind.size))
                continue
            close_run()
            if isinstance(kind, CString):
                parts.append(f"pdu.{name}.encode('latin-1')")
                parts.append("NUL")
            elif isinstance(kind, ShortMessage):
                lines.append(f"    sm = pdu.{name}")
                parts.append("BYTE[len(sm)]")
                parts.append("sm")
            else:  # submit_multi's address lists: the kind writes itself
                env[f"write{len(parts)}"] = kind.write
                lines.append(f"    out{len(parts)} = bytearray()")
                lines.append(f"    write{len(parts)}(pdu.{name}, out{len(parts)})")
                parts.append(f"out{len(parts)}")
        close_run()
        lines.append(f"    body = join(({', '.join(parts)}, tlv_bytes(tlvs) if tlvs else b''))")
    lines.append("    return pack(16 + len(body), cid, status, pdu.sequence_number) + body")
    return _source(lines, env, "encode_pdu")


def _compile_decoder(cls: type[Pdu]) -> Any:
    """def decode_X(data, status, seq) -> Pdu: the fast path of `_decode_body`."""
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "slow": _decode_body,
                           "read_tlvs": read_tlvs, "absent": body_may_be_absent}
    lines = ["def decode_pdu(data, status, seq):",
             "    end = len(data)",
             "    if end == 16 and absent(cls, status):",
             "        return slow(cls, data, status, seq)",
             "    pos = 16"]
    fall = "        return slow(cls, data, status, seq)"
    names: list[str] = []
    run: list[str] = []  # a run of 1-octet integers: one bounds check for all of them

    def close_run() -> None:
        if run:
            lines.extend([f"    if pos + {len(run)} > end:", fall])
            lines.extend(f"    {v} = data[pos + {k}]" for k, v in enumerate(run))
            lines.append(f"    pos += {len(run)}")
            run.clear()

    for i, (name, kind) in enumerate(cls.body):
        names.append(name)
        v = f"v{i}"
        if isinstance(kind, Int) and kind.size == 1:
            run.append(v)
            continue
        close_run()
        if isinstance(kind, Int):
            lines += [f"    if pos + {kind.size} > end:", fall,
                      f"    {v} = int.from_bytes(data[pos:pos + {kind.size}], 'big')",
                      f"    pos += {kind.size}"]
        elif isinstance(kind, CString):
            lines.append(f"    nul = data.find(0, pos, pos + {kind.max_len})")
            if kind.fixed is None:
                lines += ["    if nul < 0:", fall]
            else:
                lines += [f"    if nul < 0 or (nul != pos and nul - pos != {kind.fixed}):", fall]
            lines += [f"    {v} = data[pos:nul].decode('latin-1') if nul != pos else ''",
                      "    pos = nul + 1"]
        elif isinstance(kind, ShortMessage):
            lines += ["    if pos >= end:", fall,
                      "    n = pos + 1 + data[pos]",
                      "    if n > end:", fall,
                      f"    {v} = data[pos + 1:n]",
                      "    pos = n"]
        else:
            env[f"read{i}"] = kind.read
            lines.append(f"    {v}, pos = read{i}(data, pos)")
    close_run()
    lines.append("    pdu = new(cls)")
    set_status, set_seq, set_tlvs, _ = _PLANS[cls]
    env.update(set_status=set_status, set_seq=set_seq, set_tlvs=set_tlvs)
    lines += ["    set_status(pdu, status)", "    set_seq(pdu, seq)"]
    for i, name in enumerate(names):
        env[f"set{i}"] = _slot_setter(cls, name)
        lines.append(f"    set{i}(pdu, v{i})")
    lines += ["    set_tlvs(pdu, read_tlvs(data, pos, end) if pos < end else ())", "    return pdu"]
    return _source(lines, env, "decode_pdu")


_ENCODERS: dict[type[Pdu], Any] = {cls: _compile_encoder(cls) for cls in PDU_CLASSES.values()}
_DECODERS: dict[type[Pdu], Any] = {cls: _compile_decoder(cls) for cls in PDU_CLASSES.values()}
_DECODE_BY_ID: dict[int, Any] = {int(cid): _DECODERS[cls] for cid, cls in PDU_CLASSES.items()}


class Framer:
    """Cut a byte stream, fed in chunks of any size, into whole PDUs.

    Usage::

        framer = Framer()
        framer.feed(chunk)
        while (frame := framer.next_frame()) is not None:
            pdu = decode(frame)

    Raises (from `next_frame`):
        RemoteProtocolError: command_length below 16 or above `max_command_length`. The
            stream cannot be resynchronised after that, so `broken` becomes True and every
            later call raises again; the connection should be closed.
    """

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < HEADER_LENGTH:
            raise InvalidArgument(f"max_command_length must be at least 16, not {max_command_length}")
        self.max_command_length = max_command_length
        # Whole PDUs usually arrive whole: a chunk fed while nothing is unread is kept as
        # it came, and frames are sliced from it (one copy each). Only an unfinished PDU
        # moves what is unread into a bytearray, which later chunks extend.
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self.broken: RemoteProtocolError | None = None

    def feed(self, data: bytes) -> None:
        if not data:
            return
        buf = self._buf
        if self._pos >= len(buf):
            self._buf = data if data.__class__ is bytes else bytes(data)
            self._pos = 0
        elif buf.__class__ is bytes:
            grown = bytearray(memoryview(buf)[self._pos:])
            grown += data
            self._buf = grown
            self._pos = 0
        else:
            buf += data

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as a frame."""
        return len(self._buf) - self._pos

    def next_frame(self) -> bytes | None:
        """The next whole PDU's bytes, or None if more data is needed."""
        if self.broken is not None:
            raise self.broken
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have < 4:
            return None
        (length,) = _LENGTH.unpack_from(buf, pos)
        if length < HEADER_LENGTH or length > self.max_command_length:
            seq = None
            if len(buf) - pos >= HEADER_LENGTH:
                seq = int.from_bytes(buf[pos + 12 : pos + 16], "big")
            reason = "below the 16-octet header" if length < HEADER_LENGTH else (
                f"above this peer's limit of {self.max_command_length}"
            )
            self.broken = RemoteProtocolError(
                f"command_length {length} is {reason}; the stream cannot be framed",
                _S.ESME_RINVCMDLEN,
                sequence_number=seq,
            )
            raise self.broken
        if have < length:
            return None
        end = pos + length
        frame = buf[pos:end]
        if frame.__class__ is not bytes:
            frame = bytes(frame)
        if end == len(buf):
            self._buf = b""
            end = 0
        elif end > 65536 and buf.__class__ is bytearray:
            del buf[:end]
            end = 0
        self._pos = end
        return frame

    def __iter__(self):  # type: ignore[no-untyped-def]
        while (frame := self.next_frame()) is not None:
            yield frame


def command_name(command_id: int) -> str:
    """The spec name of a command_id, or its hex form."""
    try:
        return CommandId(command_id).name
    except ValueError:
        return f"0x{command_id:08X}"

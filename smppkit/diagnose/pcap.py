"""A tiny classic-pcap writer and reader, and TCP reassembly, for SMPP captures.

Strategy: no dependencies and no sockets. `write_pcap` turns SMPP byte streams into a
capture (handshake, data segments with real sequence numbers, FIN), so tests and notebooks
can make captures that tshark and `read_tcp_streams` both read. `read_tcp_streams` parses
the libpcap format -- https://wiki.wireshark.org/Development/LibpcapFileFormat -- for the
link types seen in practice (Ethernet, Linux cooked v1/v2, BSD/OpenBSD loopback, raw IP),
IPv4 and IPv6 without extension headers, and reassembles each TCP direction by sequence
number, dropping retransmitted bytes. pcapng is left to tshark (`logs.read(format="pcap")`).
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["Flow", "StreamChunk", "iter_packets", "read_tcp_streams", "write_pcap"]

#: Link types -- https://www.tcpdump.org/linktypes.html
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
_LINKTYPES = {"ethernet": LINKTYPE_ETHERNET, "linux-sll": LINKTYPE_LINUX_SLL, "null": LINKTYPE_NULL}

_SYN, _ACK, _PSH, _FIN = 0x02, 0x10, 0x08, 0x01


@dataclass
class Flow:
    """One TCP connection to write: the ESME (client) and the SMSC (server).

    `messages` are ``(time, direction, data)``: direction "out" is client -> server, "in"
    is server -> client; `data` is any bytes (usually one or more encoded PDUs).
    """

    client: tuple[str, int]
    server: tuple[str, int]
    messages: list[tuple[float, str, bytes]] = field(default_factory=list)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4_tcp(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int,
              payload: bytes, ident: int) -> bytes:
    sip, dip = ipaddress.IPv4Address(src[0]).packed, ipaddress.IPv4Address(dst[0]).packed
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0) + payload
    pseudo = sip + dip + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident & 0xFFFF, 0x4000, 64, 6, 0,
                     sip, dip)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ip + tcp


def _link(linktype: int, ip: bytes) -> bytes:
    if linktype == LINKTYPE_ETHERNET:
        return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip
    if linktype == LINKTYPE_LINUX_SLL:
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", 0x0800) + ip
    return struct.pack("<I", 2) + ip  # LINKTYPE_NULL: AF_INET in host (little-endian) order


class _FlowWriter:
    """Sequence numbers of one flow's two directions; appends its packets."""

    def __init__(self, flow: Flow, n: int, linktype: int, packets: list) -> None:
        self.seqs = {"out": 1000 + 7919 * n, "in": 5000 + 104729 * n}
        self.ends = {"out": (flow.client, flow.server), "in": (flow.server, flow.client)}
        self.linktype, self.packets, self.ident = linktype, packets, 0

    def emit(self, t: float, d: str, flags: int, payload: bytes = b"") -> None:
        src, dst = self.ends[d]
        other = "in" if d == "out" else "out"
        ip = _ipv4_tcp(src, dst, self.seqs[d], self.seqs[other], flags, payload, self.ident)
        self.ident += 1
        self.packets.append((t, len(self.packets), _link(self.linktype, ip)))
        self.seqs[d] += len(payload) + (1 if flags & (_SYN | _FIN) else 0)


def write_pcap(path: str, flows: Iterable[Flow], *, linktype: str = "ethernet",
               mss: int = 1460, handshake: bool = True) -> None:
    """Write TCP/IPv4 flows carrying SMPP bytes as a classic (microsecond) pcap file.

    Args:
        path: the file to write.
        flows: the connections; packets of all flows are written in time order.
        linktype: "ethernet", "linux-sll" or "null" (BSD loopback).
        mss: largest TCP payload per segment; a smaller value splits PDUs across
            segments, which exercises reassembly.
        handshake: write SYN / SYN-ACK / ACK before and FIN after each flow's data.
    """
    lt = _LINKTYPES[linktype]
    packets: list[tuple[float, int, bytes]] = []
    for n, flow in enumerate(flows):
        w = _FlowWriter(flow, n, lt, packets)
        times = [t for t, _, _ in flow.messages] or [0.0]
        t0, t1 = min(times), max(times)
        if handshake:
            w.emit(t0 - 0.002, "out", _SYN)
            w.emit(t0 - 0.0015, "in", _SYN | _ACK)
            w.emit(t0 - 0.001, "out", _ACK)
        for t, d, data in flow.messages:
            for i in range(0, len(data), mss):
                w.emit(t, d, _PSH | _ACK, data[i : i + mss])
        if handshake:
            w.emit(t1 + 0.001, "out", _FIN | _ACK)
            w.emit(t1 + 0.0015, "in", _FIN | _ACK)
    packets.sort(key=lambda p: (p[0], p[1]))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, lt))
        for t, _, frame in packets:
            sec = int(t // 1)
            usec = round((t - sec) * 1e6)
            if usec == 1_000_000:
                sec, usec = sec + 1, 0
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


# --- reading ---------------------------------------------------------------------------


def iter_packets(path: str, problems: list[tuple[int, str]] | None = None
                 ) -> Iterator[tuple[float, int, bytes]]:
    """(time, linktype, frame) for each record of a classic pcap file.

    A capture cut short (the last record incomplete, as when dumpcap is killed or a file is
    copied while written) is read up to the cut; ``(record number, what)`` is then appended
    to `problems`.

    Raises:
        ValueError: not a classic pcap file (pcapng is named as such).
    """
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            raise ValueError(f"{path}: too short for a pcap header")
        magic = header[:4]
        if magic == b"\x0a\x0d\x0d\x0a":
            raise ValueError(f"{path}: pcapng is not supported by format='pcap-raw'; "
                             "use format='pcap' (tshark) or convert with editcap -F pcap")
        formats = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
                   b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
        if magic not in formats:
            raise ValueError(f"{path}: not a pcap file (magic {magic.hex()})")
        endian, scale = formats[magic]
        linktype = struct.unpack(endian + "I", header[20:24])[0] & 0x0FFFFFFF
        rec = struct.Struct(endian + "IIII")
        for number in itertools.count(1):
            head = f.read(16)
            if len(head) < 16:
                if head and problems is not None:
                    problems.append((number, f"capture cut short: record {number} has {len(head)} "
                                             "of 16 header bytes; read up to the cut"))
                return
            sec, frac, incl, _ = rec.unpack(head)
            frame = f.read(incl)
            if len(frame) < incl:
                if problems is not None:
                    problems.append((number, f"capture cut short: record {number} has {len(frame)} "
                                             f"of {incl} bytes; read up to the cut"))
                return
            yield sec + frac * scale, linktype, frame


def _ip_payload(linktype: int, frame: bytes) -> bytes | None:
    if linktype == LINKTYPE_ETHERNET:
        pos, etype = 14, int.from_bytes(frame[12:14], "big")
        while etype in (0x8100, 0x88A8) and len(frame) >= pos + 4:  # VLAN tags
            etype = int.from_bytes(frame[pos + 2 : pos + 4], "big")
            pos += 4
        return frame[pos:] if etype in (0x0800, 0x86DD) else None
    if linktype == LINKTYPE_LINUX_SLL:
        return frame[16:] if frame[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == LINKTYPE_LINUX_SLL2:
        return frame[20:] if frame[0:2] in (b"\x08\x00", b"\x86\xdd") else None
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return frame[4:]
    if linktype in (LINKTYPE_RAW, 12, 14):
        return frame
    return None


def _tcp(ip: bytes) -> tuple[str, int, str, int, int, int, bytes] | None:
    """(src, sport, dst, dport, seq, flags, payload) of a TCP segment, else None."""
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        ihl = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        if ip[9] != 6 or int.from_bytes(ip[6:8], "big") & 0x1FFF:  # not TCP, or a fragment
            return None
        src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
        seg = ip[ihl : total if total >= ihl else len(ip)]
    elif version == 6 and len(ip) >= 40:
        if ip[6] != 6:
            return None
        plen = int.from_bytes(ip[4:6], "big")
        src, dst = str(ipaddress.IPv6Address(ip[8:24])), str(ipaddress.IPv6Address(ip[24:40]))
        seg = ip[40 : 40 + plen]
    else:
        return None
    if len(seg) < 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", seg[:8])
    offset = (seg[12] >> 4) * 4
    return src, sport, dst, dport, seq, seg[13], seg[offset:]


@dataclass
class StreamChunk:
    """In-order bytes of one TCP direction, with the capture time of the segment."""

    time: float
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes
    #: bytes missing before this chunk (a capture gap), 0 normally
    gap: int = 0
    #: 1-based number of the capture record that carried the last of these bytes
    frame: int = 0


def read_tcp_streams(path: str, problems: list[tuple[int, str]] | None = None
                     ) -> Iterator[StreamChunk]:
    """Reassembled TCP payload, direction by direction, in capture order.

    Each direction is cut at its initial sequence number (from the SYN, else the first
    segment seen). Segments are delivered in sequence order as soon as they are contiguous;
    retransmitted bytes are dropped; out-of-order segments are held back until the hole is
    filled, or delivered with `gap` set when the direction ends with the hole still open.
    A capture cut short is read up to the cut and said in `problems` (see `iter_packets`).
    """
    next_seq: dict[tuple, int] = {}
    pending: dict[tuple, dict[int, tuple[float, bytes, int]]] = {}
    for number, (time, linktype, frame) in enumerate(iter_packets(path, problems), 1):
        ip = _ip_payload(linktype, frame)
        seg = _tcp(ip) if ip is not None else None
        if seg is None:
            continue
        src, sport, dst, dport, seq, flags, payload = seg
        key = ((src, sport), (dst, dport))
        if flags & _SYN:
            start = (seq + 1) & 0xFFFFFFFF
            if key in next_seq and (start - next_seq[key]) & 0xFFFFFFFF >= 0x80000000:
                continue  # a retransmitted SYN: the stream is already past it
            next_seq[key] = start
            pending[key] = {}
            continue
        if not payload:
            continue
        if key not in next_seq:
            next_seq[key] = seq
            pending[key] = {}
        held = pending[key]
        rel = (seq - next_seq[key]) & 0xFFFFFFFF
        if rel >= 0x80000000:  # starts before what we have: retransmission, maybe longer
            overlap = 0x100000000 - rel
            if overlap >= len(payload):
                continue
            payload, rel = payload[overlap:], 0
        held[(next_seq[key] + rel) & 0xFFFFFFFF] = (time, payload, number)
        yield from _drain(key, next_seq, held)
    for key, held in pending.items():  # holes never filled: deliver with a gap
        while held:
            start = min(held, key=lambda s: (s - next_seq[key]) & 0xFFFFFFFF)
            gap = (start - next_seq[key]) & 0xFFFFFFFF
            time, data, number = held.pop(start)
            next_seq[key] = (start + len(data)) & 0xFFFFFFFF
            yield StreamChunk(time, key[0], key[1], data, gap, number)
            yield from _drain(key, next_seq, held)


def _drain(key: tuple, next_seq: dict[tuple, int], held: dict[int, tuple[float, bytes, int]]
           ) -> Iterator[StreamChunk]:
    while True:
        nxt = next_seq[key]
        item = held.pop(nxt, None)
        if item is None:
            # a held segment that overlaps the current position (partial retransmission)
            for start in list(held):
                rel = (nxt - start) & 0xFFFFFFFF
                if rel < len(held[start][1]):
                    t, d, n = held.pop(start)
                    item = (t, d[rel:], n)
                    break
                if rel < 0x80000000:
                    del held[start]  # wholly before nxt: duplicate
            if item is None:
                return
        time, data, number = item
        next_seq[key] = (nxt + len(data)) & 0xFFFFFFFF
        yield StreamChunk(time, key[0], key[1], data, 0, number)

"""A strict Kafka wire codec driven by small message layouts written for the tests.

Clients differ in what they tolerate: librdkafka, for one, rejects a null where Kafka never sends
one (a Fetch partition's records as MessageSetSize -1) and then never sees the partition's error
code. This decoder is stricter than any client: it fails on a null in a non-nullable field, on a
length past the end, on bytes left over after the body or a tagged-field section, and it reports
every null in a field that the protocol allows to be null but Kafka 2.8 never sends as null.

A layout is a list of fields ``(name, type)``. Types: ``"i8" "i16" "i32" "i64" "bool" "uuid"
"str" "bytes" "records"``, a list of fields (a struct), or ``("arr", element)``. A name ending in
``?`` may be null and Kafka does send null there (e.g. an error message); a name ending in ``!``
is nullable in the schema but Kafka always fills it, so a null there is reported. Flexible
versions use compact lengths and a tagged-field section after every struct (the tags are read and
skipped, but must be well formed).
"""

import struct

from kwire import uvarint as _uvarint


class StrictDecodeError(Exception):
    """The bytes are not a valid encoding of the layout."""


def _split(name):
    if name[-1] in "?!":
        return name[:-1], name[-1]
    return name, ""


# --- encoding (requests) -----------------------------------------------------------------------
def _len(n, flexible, null=False, wide=False):
    """A length prefix: compact (n+1, 0 = null) or classic (int16 for strings, int32 otherwise)."""
    if flexible:
        return _uvarint(0 if null else n + 1)
    return struct.pack(">i" if wide else ">h", -1 if null else n)


def encode(layout, value, flexible):
    """Bytes of ``value`` (a dict) in ``layout``; a missing field is null if nullable, else zero/empty."""
    out = bytearray()
    for name, ty in layout:
        key, mark = _split(name)
        if key in value or mark:
            v = value.get(key)
        else:
            v = [] if isinstance(ty, tuple) else "" if ty == "str" else b"" if ty in ("bytes", "records") else None
        out += _enc(ty, v, flexible)
    if flexible:
        out += b"\x00"  # no tagged fields
    return bytes(out)


def _enc(ty, v, flexible):
    if isinstance(ty, list):
        return encode(ty, v or {}, flexible)
    if isinstance(ty, tuple):
        if v is None:
            return _len(0, flexible, null=True, wide=True)
        return _len(len(v), flexible, wide=True) + b"".join(_enc(ty[1], e, flexible) for e in v)
    fixed = {"i8": ">b", "i16": ">h", "i32": ">i", "i64": ">q", "bool": ">?"}
    if ty in fixed:
        return struct.pack(fixed[ty], v or 0)
    if ty == "uuid":
        return v or bytes(16)
    if ty == "str":
        if v is None:
            return _len(0, flexible, null=True)
        b = v.encode()
        return _len(len(b), flexible) + b
    if ty in ("bytes", "records"):
        if v is None:
            return _len(0, flexible, null=True, wide=True)
        return _len(len(v), flexible, wide=True) + v
    raise ValueError(f"unknown type {ty!r}")


# --- decoding (responses) ----------------------------------------------------------------------
class Reader:
    """A cursor over one response body that records every unexpected null it meets."""

    def __init__(self, data, flexible):
        self.data, self.pos, self.flexible = data, 0, flexible
        self.unexpected_nulls = []

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise StrictDecodeError(f"{what}: {n} bytes at {self.pos} run past the end ({len(self.data)})")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def uvarint(self, what):
        shift = result = 0
        while True:
            (b,) = self.take(1, what)
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 28:
                raise StrictDecodeError(f"{what}: varint longer than 5 bytes")

    def length(self, what, wide):
        """A length, or None for null."""
        if self.flexible:
            n = self.uvarint(what) - 1
        else:
            (n,) = struct.unpack(">i" if wide else ">h", self.take(4 if wide else 2, what))
        if n < -1:
            raise StrictDecodeError(f"{what}: invalid length {n}")
        return None if n == -1 else n

    def tagged_fields(self, what):
        for _ in range(self.uvarint(f"{what} tag count")):
            self.uvarint(f"{what} tag")
            self.take(self.uvarint(f"{what} tag size"), f"{what} tagged field")


def decode(layout, data, flexible):
    """(value dict, [paths of unexpected nulls]) of a whole response body; strict, see the module."""
    r = Reader(data, flexible)
    value = _struct(r, layout, "")
    if r.pos != len(data):
        raise StrictDecodeError(f"{len(data) - r.pos} bytes left after the body")
    return value, r.unexpected_nulls


def _struct(r, layout, path):
    out = {}
    for name, ty in layout:
        key, mark = _split(name)
        out[key] = _dec(r, ty, f"{path}{key}", mark)
    if r.flexible:
        r.tagged_fields(path or "body")
    return out


def _null(r, path, mark):
    if mark == "":
        raise StrictDecodeError(f"{path}: null in a field that is not nullable")
    if mark == "!":
        r.unexpected_nulls.append(path)
    return None


def _dec(r, ty, path, mark):
    if isinstance(ty, list):
        return _struct(r, ty, path + ".")
    if isinstance(ty, tuple):
        n = r.length(path, wide=True)
        if n is None:
            return _null(r, path, mark)
        return [_dec(r, ty[1], f"{path}[{i}]", "") for i in range(n)]
    fixed = {"i8": (">b", 1), "i16": (">h", 2), "i32": (">i", 4), "i64": (">q", 8), "bool": (">?", 1)}
    if ty in fixed:
        fmt, size = fixed[ty]
        return struct.unpack(fmt, r.take(size, path))[0]
    if ty == "uuid":
        return r.take(16, path)
    if ty in ("str", "bytes", "records"):
        n = r.length(path, wide=ty != "str")
        if n is None:
            return _null(r, path, mark)
        b = r.take(n, path)
        return b.decode() if ty == "str" else b
    raise ValueError(f"unknown type {ty!r}")


# --- framing -----------------------------------------------------------------------------------
def request(api_key, version, correlation_id, layout, value, flexible, client_id="strict-it"):
    """A whole request frame: header v1 (v2 when flexible) then the body."""
    cid = client_id.encode()
    header = struct.pack(">hhih", api_key, version, correlation_id, len(cid)) + cid
    if flexible:
        header += b"\x00"
    payload = header + encode(layout, value, flexible)
    return struct.pack(">i", len(payload)) + payload


def response_body(frame, correlation_id, flexible_header):
    """The body of a response frame after checking its correlation id (and header tags)."""
    r = Reader(frame, True)
    (cid,) = struct.unpack(">i", r.take(4, "correlation id"))
    if cid != correlation_id:
        raise StrictDecodeError(f"correlation id {cid}, expected {correlation_id}")
    if flexible_header:
        r.tagged_fields("response header")
    return frame[r.pos:]

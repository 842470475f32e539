"""A tiny synchronous ZooKeeper client (read-mostly) speaking ZooKeeper's jute protocol.

The harness uses it for fast polling (is broker N registered?  does /controller exist?) where
starting a JVM for every probe would be too slow.  Tests that check the exact bytes of znodes read
them with ZooKeeper's own CLI (zkCli.sh) as well; see test_zk_format.py.
"""

import socket
import struct

# Op codes (org.apache.zookeeper.ZooDefs.OpCode)
OP_EXISTS = 3
OP_GET_DATA = 4
OP_GET_CHILDREN = 8
OP_PING = 11
OP_CLOSE = -11
OP_CREATE = 1
OP_DELETE = 2

# Error codes (KeeperException.Code)
ERR_OK = 0
ERR_NONODE = -101
ERR_NODEEXISTS = -110


class ZkError(Exception):
    def __init__(self, code, path):
        super().__init__(f"ZooKeeper error {code} on {path}")
        self.code = code
        self.path = path


class NoNodeError(ZkError):
    pass


class Stat:
    FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
              "ephemeral_owner", "data_length", "num_children", "pzxid")
    FMT = ">qqqqiiiqiiq"
    SIZE = struct.calcsize(FMT)

    def __init__(self, raw):
        for name, value in zip(self.FIELDS, struct.unpack(self.FMT, raw)):
            setattr(self, name, value)

    def __repr__(self):
        return "Stat(" + ", ".join(f"{f}={getattr(self, f)}" for f in self.FIELDS) + ")"


def _string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


class _Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise ValueError("short ZooKeeper response")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def buffer(self):
        n = self.int32()
        return None if n < 0 else self.take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode()

    def stat(self):
        return Stat(self.take(Stat.SIZE))


class ZkClient:
    """One session, one request at a time. Use as a context manager."""

    def __init__(self, hostport, timeout=10.0, session_timeout_ms=10000):
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.settimeout(timeout)
        self.xid = 0
        req = struct.pack(">iqiq", 0, 0, session_timeout_ms, 0) + struct.pack(">i", 16) + b"\0" * 16 + b"\0"
        self._send(req)
        r = _Reader(self._recv())
        r.int32()  # protocol version
        negotiated = r.int32()
        self.session_id = r.int64()
        if negotiated <= 0:
            raise ConnectionError("ZooKeeper refused the session")

    # -- framing ---------------------------------------------------------------------------
    def _send(self, payload):
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("ZooKeeper closed the connection")
            out += chunk
        return out

    def _recv(self):
        (n,) = struct.unpack(">i", self._recv_exact(4))
        return self._recv_exact(n)

    def _call(self, op, body, path):
        self.xid += 1
        xid = self.xid
        self._send(struct.pack(">ii", xid, op) + body)
        while True:
            r = _Reader(self._recv())
            rxid = r.int32()
            r.int64()  # zxid
            err = r.int32()
            if rxid == -1:  # a watch event; we never set watches, but skip defensively
                continue
            if rxid != xid:
                raise ConnectionError(f"unexpected xid {rxid} (wanted {xid})")
            if err == ERR_NONODE:
                raise NoNodeError(err, path)
            if err != ERR_OK:
                raise ZkError(err, path)
            return r

    # -- operations ------------------------------------------------------------------------
    def get(self, path):
        """Returns (data bytes or None, Stat)."""
        r = self._call(OP_GET_DATA, _string(path) + b"\0", path)
        data = r.buffer()
        return data, r.stat()

    def children(self, path):
        r = self._call(OP_GET_CHILDREN, _string(path) + b"\0", path)
        n = r.int32()
        return sorted(r.string() for _ in range(max(n, 0)))

    def exists(self, path):
        """Returns the Stat or None."""
        try:
            r = self._call(OP_EXISTS, _string(path) + b"\0", path)
        except NoNodeError:
            return None
        return r.stat()

    def create(self, path, data=b"", ephemeral=False):
        acl = struct.pack(">i", 1) + struct.pack(">i", 31) + _string("world") + _string("anyone")
        flags = 1 if ephemeral else 0
        body = _string(path) + (struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data)
        r = self._call(OP_CREATE, body + acl + struct.pack(">i", flags), path)
        return r.string()

    def delete(self, path, version=-1):
        self._call(OP_DELETE, _string(path) + struct.pack(">i", version), path)

    def close(self):
        """Ends the session cleanly (waits for the server's reply, so ZooKeeper logs no EOF warning)."""
        try:
            self.xid += 1
            self.sock.settimeout(5.0)
            self._send(struct.pack(">ii", self.xid, OP_CLOSE))
            while True:
                r = _Reader(self._recv())
                if r.int32() == self.xid:
                    break
            self.sock.recv(1)  # the server closes the connection after replying
        except OSError:
            pass
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

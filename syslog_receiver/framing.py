"""RFC 6587 TCP framing, sans-IO: bytes from a stream in, whole syslog frames out.

Routers and relays mix the two framings of RFC 6587 (octet counting, ``LEN SP MSG``, and
LF-terminated "non-transparent" framing), sometimes on one connection, so the framing is told
apart per frame: a frame that starts with a non-zero digit, a run of digits and a space is
octet-counted; anything else runs to the next LF. The buffer never holds more than one frame of
``max_frame`` bytes, so a peer cannot make it grow; a frame that is too long, or bytes that
cannot start a syslog message (binary control bytes, such as a TLS handshake), stop the
deframer with ``error`` set after every frame before them was returned, so the caller emits
those and closes the connection.
"""

from __future__ import annotations

__all__ = ["Deframer"]

# Bytes that may start an LF-framed message besides printable text: TAB, and the CR of a
# CR LF blank line. Any other C0 control byte at the start of a frame is garbage.
_TEXT_CONTROLS = frozenset(b"\t\r\n")


class Deframer:
    """Splits one TCP connection's byte stream into syslog frames.

    ``feed`` returns the frames completed by the new bytes (possibly none); after it sets
    ``error``, the stream is unusable and further ``feed`` calls return nothing. ``close``
    returns the bytes left at end of stream as a last frame, so nothing received is lost.
    """

    __slots__ = ("_buf", "_max_digits", "error", "max_frame")

    def __init__(self, max_frame: int) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be positive")
        self.max_frame = max_frame
        self.error: str | None = None
        self._buf = b""
        # An octet count longer than this cannot be within max_frame: such a digit run is the
        # start of an LF-framed line (a timestamp, a sequence number), not a length.
        self._max_digits = len(str(max_frame))

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        if self.error is not None:
            return []
        buf = self._buf + data if self._buf else data
        frames: list[bytes] = []
        pos = 0
        end = len(buf)
        max_frame = self.max_frame
        while pos < end:
            first = buf[pos]
            if first == 0x0A:  # blank line between frames: a keepalive, not a message
                pos += 1
                continue
            if first < 0x20 and first not in _TEXT_CONTROLS:
                self._fail(f"garbage: byte 0x{first:02x} cannot start a syslog frame")
                return frames
            if 0x31 <= first <= 0x39:
                step = self._octet_counted(buf, pos, end, frames)
                if step == 0:
                    break  # waiting for more bytes
                if step > 0:
                    pos = step
                    continue
                if self.error is not None:
                    return frames
                # step < 0 without error: digits not followed by SP, an LF-framed line.
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if end - pos > max_frame + 1:  # +1: the CR of a CR LF still to come
                    self._fail(f"oversized frame: more than {max_frame} bytes without LF")
                    return frames
                break
            stop = nl
            while stop > pos and buf[stop - 1] in (0x0D, 0x00):
                stop -= 1
            if stop - pos > max_frame:
                self._fail(f"oversized frame: {stop - pos} bytes, limit {max_frame}")
                return frames
            if stop > pos:
                frames.append(buf[pos:stop])
            pos = nl + 1
        self._buf = buf[pos:] if pos < end else b""
        return frames

    def _octet_counted(self, buf: bytes, pos: int, end: int, frames: list[bytes]) -> int:
        """Take one octet-counted frame at ``pos``.

        Returns the position after it, 0 when more bytes are needed, or -1 when the bytes at
        ``pos`` are not an octet count (the frame is LF-framed) or an error was set.
        """
        i = pos + 1
        limit = pos + self._max_digits
        while i < end and i <= limit and 0x30 <= buf[i] <= 0x39:
            i += 1
        if i == end and i <= limit:
            return 0  # the count may go on in the next segment
        if i > limit or buf[i] != 0x20:
            return -1
        length = int(buf[pos:i])
        if length > self.max_frame:
            self._fail(f"oversized frame: octet count {length}, limit {self.max_frame}")
            return -1
        start = i + 1
        if end - start < length:
            return 0
        frames.append(buf[start : start + length])
        return start + length

    def close(self) -> list[bytes]:
        """End of stream: return what is left as a last frame.

        A sender may close without a final LF; its last line is still a message. A frame cut
        short inside its octet count is returned as well, and ``error`` says so, so the caller
        can count it as malformed while still emitting its bytes.
        """
        rest, self._buf = self._buf, b""
        if self.error is not None or not rest:
            return []
        if 0x31 <= rest[0] <= 0x39:
            probe: list[bytes] = []
            if self._octet_counted(rest, 0, len(rest), probe) == 0:
                sp = rest.find(b" ")
                if sp > 0:
                    self.error = "stream closed inside an octet-counted frame"
                    return [rest[sp + 1 :]] if len(rest) > sp + 1 else []
        rest = rest.rstrip(b"\r\x00")
        if len(rest) > self.max_frame:
            self.error = f"oversized frame: {len(rest)} bytes, limit {self.max_frame}"
            return []
        return [rest] if rest else []

    def _fail(self, reason: str) -> None:
        self.error = reason
        self._buf = b""

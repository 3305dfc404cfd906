"""Prediction unique ids (puids): what ties a request, its response and their log events."""

from __future__ import annotations

import random


def new_puid() -> str:
    """A random (version 4) UUID string; random, not os.urandom: a puid is no secret, and the
    system call was a fifth of the time a small Kafka record takes."""
    h = f"{random.getrandbits(128) & _UUID4_CLEAR | _UUID4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Version 4 and the RFC 4122 variant, set in a random 128-bit number; random's state is reseeded
# in every forked child, so processes do not repeat each other's puids.
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_BITS = (0x4 << 76) | (0x2 << 62)

"""zlib with preset dictionaries (`zdict`), for stored values that are small and alike: what the snapshot
month items and the stored flags are compressed with (storage/snapshot_dictionary.py,
storage/stored_flags.py).

A value compressed with a dictionary names it in its zlib header by the dictionary's Adler-32 checksum
(DICTID, RFC 1950), so reading it needs the same bytes: a dictionary, once used, is never edited, and a
better one is added after it (the last is the one written with; all stay readable). Values compressed
without one (no FDICT flag) read as before.
"""

from __future__ import annotations

import zlib

FDICT = 0x20  # zlib header flag: compressed with a preset dictionary (RFC 1950)


class PresetDictionaries:
    def __init__(self, *dictionaries: bytes, what: str):
        self.current = dictionaries[-1]
        self.by_id = {zlib.adler32(d): d for d in dictionaries}
        self.what = what

    def compress(self, data: bytes, level: int) -> bytes:
        compressor = zlib.compressobj(level, zdict=self.current)
        return compressor.compress(data) + compressor.flush()

    def decompress(self, data: bytes) -> bytes:
        """Either form: with a dictionary (found by the DICTID in the header) or without one."""
        if len(data) >= 6 and data[1] & FDICT:
            dictionary = self.by_id.get(int.from_bytes(data[2:6], "big"))
            if dictionary is None:
                raise ValueError(f"{self.what} compressed with an unknown dictionary")
            decompressor = zlib.decompressobj(zdict=dictionary)
            return decompressor.decompress(data) + decompressor.flush()
        return zlib.decompress(data)

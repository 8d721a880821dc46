#!/usr/bin/env python3
"""Write hostile (and one good) archive files for the integration tests.

Usage: gen_hostile.py OUTDIR

Standard library only; runs in a few seconds and writes about 12 MB.
Every bomb is built from a small compressed "kernel" that is repeated or
referenced many times, so nothing large is ever held in memory.

Files written (what a correct reader must do with each, default limits
max_bytes=100 MB, max_members=100, max_depth=3):

  good.xml            A minimal valid DMARC aggregate report (RFC 7489
                      appendix C shape): must be ingested.
  empty.xml           0 bytes: one empty leaf, which is not a report.
  gzip_bomb.xml.gz    100 identical gzip members, each 100 MB of zeros
                      (~10 MB file, 10 GB decompressed).  A reader that
                      stops at the first member sees "only" 100 MB; ours
                      must reject it on max_bytes while streaming.
  zip_bomb_lying.zip  One member, report.xml, whose headers declare 1000
                      bytes (with the CRC of 1000 zero bytes) while its
                      deflate stream inflates to 1 GB of zeros.  A reader
                      that trusts the declared size truncates silently; ours
                      must reject it for inflating past the declared size.
  zip_bomb_overlap.zip  Fifield's "quoted overlap" zip bomb
                      (https://www.bamsoftware.com/hacks/zipbomb/): 50 members
                      whose data ranges overlap, each quoting the next
                      member's local header in a stored deflate block, all
                      ending in one shared 10 MiB kernel (~525 MB in all from
                      ~15 KB).  Must be rejected from the central directory,
                      before anything is inflated.
  nested_too_deep.xml.gz.gz.gz.gz.gz
                      good.xml gzipped 5 times: deeper than max_depth=3, so
                      rejected (the 4th layer is refused).
  truncated.xml.gz    good.xml gzipped, then cut in half: a truncated gzip
                      stream, rejected permanently.
  bad_crc.zip         good.xml zipped as report.xml, with the CRC-32 in both
                      the local header and the central directory altered:
                      rejected with a CRC mismatch.
"""

import gzip
import os
import struct
import sys
import zlib

GOOD_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>receiver.example.net</org_name>
    <email>dmarc-reports@receiver.example.net</email>
    <report_id>hostile-suite-0001</report_id>
    <date_range>
      <begin>1700000000</begin>
      <end>1700086399</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.10</source_ip>
      <count>3</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"""

MB = 1000 * 1000
CHUNK = 1024 * 1024  # a power of two so repeated chunks tile exactly
ZERO_CHUNK = bytes(CHUNK)


def deflate_zeros(nchunks, wbits):
    """Deflate nchunks * CHUNK zero bytes cheaply.

    One chunk is compressed and ended with a full flush (byte-aligned, no
    back-references across it), so the same compressed bytes can be repeated
    to make a longer valid stream; the stream is then finished once.
    For gzip (wbits 31) use gzip_member_zeros instead, which needs the
    trailer.
    """
    co = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = co.compress(ZERO_CHUNK) + co.flush(zlib.Z_FULL_FLUSH)
    return block * nchunks + co.flush(zlib.Z_FINISH)


def crc_zeros(nbytes, crc=0):
    while nbytes > 0:
        take = min(nbytes, CHUNK)
        crc = zlib.crc32(ZERO_CHUNK[:take], crc)
        nbytes -= take
    return crc


def gzip_member_zeros(nbytes):
    """One gzip member holding nbytes zero bytes (RFC 1952)."""
    nchunks, rest = divmod(nbytes, CHUNK)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(ZERO_CHUNK) + co.flush(zlib.Z_FULL_FLUSH)
    body = block * nchunks + co.compress(bytes(rest)) + co.flush(zlib.Z_FINISH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc_zeros(nbytes), nbytes & 0xFFFFFFFF)
    return header + body + trailer


def local_header(name, crc, csize, usize, method=8):
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21,
                       crc, csize, usize, len(name), 0) + name


def central_header(name, crc, csize, usize, offset, method=8):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method,
                       0, 0x21, crc, csize, usize, len(name), 0, 0, 0, 0, 0,
                       offset) + name


def end_record(count, cd_size, cd_offset):
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size,
                       cd_offset, 0)


def gzip_bomb():
    member = gzip_member_zeros(100 * MB)
    return member * 100


def zip_bomb_lying():
    name = b"report.xml"
    data = deflate_zeros(1000, -15)  # 1000 MiB of zeros
    declared = 1000
    crc = zlib.crc32(bytes(declared))  # matches a reader that truncates
    lh = local_header(name, crc, len(data), declared)
    cd = central_header(name, crc, len(data), declared, 0)
    body = lh + data
    return body + cd + end_record(1, len(cd), len(body))


def zip_bomb_overlap(nfiles=50, kernel_chunks=10):
    """Fifield's quoted-overlap construction.

    Layout: LH_0 Q_0 LH_1 Q_1 ... LH_{n-1} KERNEL CD EOCD, where Q_i is a
    non-final stored deflate block header quoting exactly the bytes of
    LH_{i+1}.  So member i's compressed data is Q_i LH_{i+1} Q_{i+1} ...
    KERNEL, and it inflates to LH_{i+1} ... LH_{n-1} followed by the
    kernel's output: every member's range contains all the later ones.
    """
    kernel = deflate_zeros(kernel_chunks, -15)
    kernel_usize = kernel_chunks * CHUNK
    names = [b"%03d.xml" % i for i in range(nfiles)]

    # Built back to front: a header quotes the header after it.
    headers = [None] * nfiles
    csize = [0] * nfiles
    usize = [0] * nfiles
    crcs = [0] * nfiles
    for i in range(nfiles - 1, -1, -1):
        if i == nfiles - 1:
            csize[i] = len(kernel)
            usize[i] = kernel_usize
            crcs[i] = crc_zeros(kernel_usize)
        else:
            nxt = headers[i + 1]
            csize[i] = 5 + len(nxt) + csize[i + 1]
            usize[i] = len(nxt) + usize[i + 1]
            prefix = b"".join(headers[i + 1:])
            crcs[i] = crc_zeros(kernel_usize, zlib.crc32(prefix))
        headers[i] = local_header(names[i], crcs[i], csize[i], usize[i])

    body = b""
    offsets = []
    for i in range(nfiles):
        offsets.append(len(body))
        body += headers[i]
        if i < nfiles - 1:
            n = len(headers[i + 1])
            body += struct.pack("<BHH", 0x00, n, n ^ 0xFFFF)
    body += kernel
    cd = b"".join(central_header(names[i], crcs[i], csize[i], usize[i],
                                 offsets[i]) for i in range(nfiles))
    return body + cd + end_record(nfiles, len(cd), len(body))


def nested_too_deep():
    data = GOOD_XML
    for _ in range(5):
        data = gzip.compress(data, mtime=0)
    return data


def truncated():
    data = gzip.compress(GOOD_XML, mtime=0)
    return data[: len(data) // 2]


def bad_crc():
    name = b"report.xml"
    data = zlib.compressobj(6, zlib.DEFLATED, -15)
    comp = data.compress(GOOD_XML) + data.flush()
    crc = zlib.crc32(GOOD_XML) ^ 0xFFFFFFFF  # wrong, in both headers
    lh = local_header(name, crc, len(comp), len(GOOD_XML))
    cd = central_header(name, crc, len(comp), len(GOOD_XML), 0)
    body = lh + comp
    return body + cd + end_record(1, len(cd), len(body))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_hostile.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    files = {
        "good.xml": lambda: GOOD_XML,
        "empty.xml": lambda: b"",
        "gzip_bomb.xml.gz": gzip_bomb,
        "zip_bomb_lying.zip": zip_bomb_lying,
        "zip_bomb_overlap.zip": zip_bomb_overlap,
        "nested_too_deep.xml.gz.gz.gz.gz.gz": nested_too_deep,
        "truncated.xml.gz": truncated,
        "bad_crc.zip": bad_crc,
    }
    for name, make in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(make())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

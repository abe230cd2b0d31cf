#!/usr/bin/env python3
"""Records the payloads `strata doctor` reads from a running Redis into text fixtures.

Usage: scripts/record-doctor-fixtures.py PORT OUTPUT_DIR

Writes info.txt (INFO all, verbatim), config.txt (CONFIG GET *, one `name value` per line),
memory-stats.txt (MEMORY STATS flattened to `name:value`, nested maps as `db.0.field`),
memory-doctor.txt and client-list.txt. The golden tests in Tests/StrataOperationsTests load
these files and then edit single values to probe each rule's threshold.
"""
import os
import socket
import sys


def read_reply(stream):
    line = stream.readline()
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = stream.read(length + 2)[:-2]
        return data.decode(errors="replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [read_reply(stream) for _ in range(count)]
    raise ValueError(f"unexpected reply type {kind!r}")


def command(sock, stream, *args):
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = str(arg).encode()
        payload += f"${len(data)}\r\n".encode() + data + b"\r\n"
    sock.sendall(payload)
    return read_reply(stream)


def flatten(pairs, prefix=""):
    lines = []
    for key, value in zip(pairs[0::2], pairs[1::2]):
        if isinstance(value, list):
            lines += flatten(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key}:{value}")
    return lines


def main():
    port, output = int(sys.argv[1]), sys.argv[2]
    os.makedirs(output, exist_ok=True)
    sock = socket.create_connection(("127.0.0.1", port))
    stream = sock.makefile("rb")
    files = {
        "info.txt": command(sock, stream, "INFO", "all").replace("\r\n", "\n"),
        "config.txt": "\n".join(
            f"{name} {value}" for name, value in sorted(zip(*[iter(command(sock, stream, "CONFIG", "GET", "*"))] * 2))
        ) + "\n",
        "memory-stats.txt": "\n".join(flatten(command(sock, stream, "MEMORY", "STATS"))) + "\n",
        "memory-doctor.txt": command(sock, stream, "MEMORY", "DOCTOR"),
        "client-list.txt": command(sock, stream, "CLIENT", "LIST"),
    }
    for name, text in files.items():
        with open(os.path.join(output, name), "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()

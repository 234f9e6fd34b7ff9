#!/usr/bin/python3
"""A pass-through proxy for the Docker engine's unix socket that timestamps every API request, for profiling.

Usage: engine-proxy.py LISTEN_SOCKET UPSTREAM_SOCKET LOG_JSONL

Bytes are copied unchanged in both directions (hijacked attach streams included). When a chunk from a client
starts an HTTP request, one line is logged: {"t": ns, "conn": n, "ev": "req", "method": ..., "path": ...}; the
first chunk of the engine's answer after it is logged as {"ev": "resp", "status": ...}. Times are CLOCK_REALTIME
nanoseconds (time.time_ns), the clock Docker's State.StartedAt is in. Costs well under a millisecond per call.
"""

import asyncio
import itertools
import json
import os
import re
import sys
import time

REQUEST = re.compile(rb"^(GET|POST|HEAD|PUT|DELETE) (\S+) HTTP/1\.[01]\r\n")
STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, **event):
        self.f.write(json.dumps(event, separators=(",", ":")) + "\n")


async def pipe(reader, writer, on_chunk):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            on_chunk(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def main():
    listen, upstream, log_path = sys.argv[1:4]
    log = Log(log_path)
    counter = itertools.count(1)
    live = set()  # asyncio keeps only weak references to connection tasks; a collected one would drop its link

    async def handle(c_reader, c_writer):
        task = asyncio.current_task()
        live.add(task)
        task.add_done_callback(live.discard)
        conn = next(counter)
        u_reader, u_writer = await asyncio.open_unix_connection(upstream)
        pending = [0]

        def from_client(data):
            m = REQUEST.match(data)
            if m:
                pending[0] += 1
                log.write(t=time.time_ns(), conn=conn, ev="req", method=m.group(1).decode(),
                          path=m.group(2).decode(errors="replace"))

        def from_engine(data):
            if pending[0] > 0:
                m = STATUS.match(data)
                if m:
                    pending[0] -= 1
                    log.write(t=time.time_ns(), conn=conn, ev="resp", status=int(m.group(1)))

        await asyncio.gather(pipe(c_reader, u_writer, from_client), pipe(u_reader, c_writer, from_engine))
        for w in (c_writer, u_writer):
            w.close()

    if os.path.exists(listen):
        os.unlink(listen)
    server = await asyncio.start_unix_server(handle, path=listen)
    os.chmod(listen, 0o660)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Admission latency with a deep queue (deploy/bench/api-load.sh).

Fills the queue with QUEUE jobs over one keep-alive HTTP connection, then times PROBES more submissions one at a
time (client-side wall time of a complete POST answered 201) and prints n, median, p90, p99 and max in ms.
Usage: api-admission.py URL IMAGE QUEUE PROBES
"""
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

url, image, queue, probes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
body = json.dumps({"name": "api-load-queued", "team": "examples", "policy": "restricted", "image": image,
                   "command": ["sleep", "1"], "dataset": "breast-cancer", "maxRuntime": "1m"}).encode()


def submit():
    t0 = time.perf_counter()
    conn.request("POST", "/api/v1/jobs", body, {"Content-Type": "application/json",
                                                "Authorization": "Bearer " + os.environ["CLOISTER_TOKEN"]})
    r = conn.getresponse()
    data = r.read()
    t1 = time.perf_counter()
    if r.status != 201:
        sys.exit("submission answered %d: %s" % (r.status, data[:300]))
    return (t1 - t0) * 1000


t0 = time.perf_counter()
for i in range(queue):
    submit()
    if (i + 1) % 2000 == 0:
        print("queued %d (%.0f/s)" % (i + 1, (i + 1) / (time.perf_counter() - t0)), file=sys.stderr, flush=True)
fill = time.perf_counter() - t0
lat = sorted(submit() for _ in range(probes))
q = statistics.quantiles(lat, n=100, method="inclusive")
print("queue filled with %d jobs in %.1f s (%.0f submissions/s)" % (queue, fill, queue / fill))
print("admission with %d queued: n=%d median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (queue, probes, statistics.median(lat), q[89], q[98], lat[-1]))

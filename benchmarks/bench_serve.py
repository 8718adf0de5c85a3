"""The REST service under load: latency and throughput against predict's batch throughput.

For the batcher on and off, a ``clinicalner serve`` process is started on loopback and
1, 8 and 32 concurrent clients each post single notes (``POST /v1/tag``) until ``--requests``
have been answered per level; the script records throughput (notes/s), p50/p95/p99 latency
and every 5xx. The baseline is the same notes tagged in-process in one ``tag`` call (what
``clinicalner predict`` does), after one warm-up pass. Then a sustained run (batcher on,
8 clients, ``--sustain`` seconds) samples the server's resident memory every few seconds and
counts 5xx: memory should stop growing and 5xx stay at zero.

Run:  python benchmarks/bench_serve.py clinicalner-demo/model --output benchmarks/out/serve.json
(notes: the built-in examples, or ``--notes CORPUS``; figures depend on the machine's load.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from clinicalner.document import Document


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(model: str, port: int, batching: bool, extra: list[str]) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-c",
        "from clinicalner.cli import app; app()",
        "serve",
        model,
        "--port",
        str(port),
    ]
    cmd += ([] if batching else ["--no-batching"]) + extra
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not start within 10 minutes")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def load(url: str, notes: list[Document], clients: int, requests: int, seconds: float | None = None) -> dict:
    """``clients`` threads posting notes in turn until ``requests`` answers (or ``seconds``)."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = {"next": 0}
    stop_at = time.monotonic() + seconds if seconds else None

    def client() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            while True:
                with lock:
                    k = counter["next"]
                    if (stop_at is None and k >= requests) or (
                        stop_at is not None and time.monotonic() >= stop_at
                    ):
                        return
                    counter["next"] += 1
                doc = notes[k % len(notes)]
                t0 = time.perf_counter()
                r = http.post("/v1/tag", json={"text": doc.text, "language": doc.language})
                took = time.perf_counter() - t0
                with lock:
                    latencies.append(took)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": len(latencies),
        "notes_per_s": len(latencies) / wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p95_ms": 1000 * percentile(latencies, 95),
        "p99_ms": 1000 * percentile(latencies, 99),
        "mean_ms": 1000 * statistics.fmean(latencies),
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "statuses": statuses,
    }


def sustained_run(url: str, notes: list[Document], pid: int, seconds: float) -> tuple[dict, list]:
    """8 clients for ``seconds``, the server's RSS sampled every 5 s."""
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not done.is_set():
            samples.append((time.monotonic() - t0, rss_mib(pid)))
            done.wait(5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    sustained = load(url, notes, 8, 0, seconds=seconds)
    done.set()
    sampler.join()
    return sustained, samples


def predict_baseline(model: str, notes: list[Document], extra: dict[str, Any]) -> dict:
    from clinicalner.predict.loading import load_tagger

    tagger = load_tagger(model, **extra)
    list(tagger.tag(notes))  # warm-up
    t0 = time.perf_counter()
    list(tagger.tag(notes))
    wall = time.perf_counter() - t0
    return {"notes": len(notes), "seconds": wall, "notes_per_s": len(notes) / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--notes", help="corpus whose texts are posted (default: the built-in examples)")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--requests", type=int, default=128, help="answers per (batcher, clients) level")
    ap.add_argument("--sustain", type=float, default=180.0, help="seconds of the sustained run (0: none)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()

    if args.notes:
        from clinicalner.io import read_corpus

        notes = [d.with_spans([]) for d in read_corpus(args.notes).documents]
    else:
        from clinicalner.sample_notes import load_examples

        notes = [d.with_spans([]) for d in load_examples()]
    extra = ["--device", args.device]
    result: dict[str, Any] = {
        "model": args.model,
        "notes": len(notes),
        "mean_chars": statistics.fmean(len(d.text) for d in notes),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_at_start": os.getloadavg(),
        "predict": predict_baseline(args.model, notes, {"device": args.device}),
        "levels": [],
    }
    print(f"predict, one batch: {result['predict']['notes_per_s']:.1f} notes/s", flush=True)
    for batching in (True, False):
        port = free_port()
        server = start_server(args.model, port, batching, extra)
        try:
            url = f"http://127.0.0.1:{port}"
            load(url, notes, 4, len(notes))  # warm-up
            for clients in args.clients:
                level = {"batching": batching, **load(url, notes, clients, args.requests)}
                result["levels"].append(level)
                print(
                    f"batcher {'on ' if batching else 'off'} {clients:>3} clients: "
                    f"{level['notes_per_s']:.1f} notes/s, p50 {level['p50_ms']:.0f} ms, "
                    f"p95 {level['p95_ms']:.0f} ms, p99 {level['p99_ms']:.0f} ms, 5xx {level['5xx']}",
                    flush=True,
                )
            if batching and args.sustain > 0:
                sustained, samples = sustained_run(url, notes, server.pid, args.sustain)
                result["sustained"] = {**sustained, "seconds": args.sustain, "rss_mib": samples}
                rss = [m for _, m in samples]
                third = max(1, len(rss) // 3)
                print(
                    f"sustained {args.sustain:.0f} s, 8 clients: {sustained['requests']} requests, "
                    f"5xx {sustained['5xx']}, RSS first {rss[0]:.0f} MiB, max {max(rss):.0f}, "
                    f"mean of the last third {statistics.fmean(rss[-third:]):.0f} vs the middle "
                    f"third {statistics.fmean(rss[third : 2 * third] or rss):.0f}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(60)
    result["load_average_at_end"] = os.getloadavg()
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

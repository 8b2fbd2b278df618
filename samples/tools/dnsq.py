#!/usr/bin/python3
"""Tiny DNS stub client for the sample recordings (UDP only, standard library).

Behaves like the glibc stub resolver, with shorter timeouts:
  * each try uses a fresh UDP socket (new ephemeral port) connected to the
    server, so an ICMP port unreachable comes back as ECONNREFUSED;
  * on ECONNREFUSED it moves on to the next server at once;
  * on timeout it CLOSES the socket and moves on (next server, then the next
    attempt): an answer that arrives after that hits a closed port and the
    client's kernel answers it with an ICMP port unreachable (late reply);
  * the same query id is reused for every try of one lookup;
  * --rotate starts lookup i at server i (resolv.conf "options rotate");
  * --parallel sends each try to every server at once, from ONE unconnected
    socket (one source port), takes the first answer and closes the socket
    (like dnsmasq --all-servers or a client asking two resolvers at once):
    the slower servers' answers then hit a closed port and the client's
    kernel refuses them (duplicate replies);
  * with --seeded-ports each try binds a source port drawn from --seed
    (never the same twice) instead of letting the kernel pick one, so that
    two recordings carry the same ports.

Lookups start every --interval seconds (they may overlap, which is how the
burst of the rate-limit scenario is made).  Everything is bounded by --count
and --max-time.

  dnsq.py --server 192.0.2.53 [--server 192.0.2.54:5353] \\
          --query www.example.com/A --query mail.example.org/MX \\
          --count 5 --interval 0.2 --timeout 1 --attempts 1
"""

import argparse
import os
import random
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnswire  # noqa: E402


def parse_server(text, default_port):
    """192.0.2.53 | 192.0.2.53:8053 | 2001:db8::53 | [2001:db8::53]:53"""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
        return host, port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def fmt(server):
    host, port = server
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


class Lookup:
    def __init__(self, idx, qid, name, qtype, start, servers):
        self.idx, self.qid, self.name, self.qtype = idx, qid, name, qtype
        self.start, self.servers = start, servers
        self.attempt = 0
        self.srv = 0
        self.sock = None
        self.deadline = None
        self.started = False
        self.result = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", action="append", required=True)
    ap.add_argument("--port", type=int, default=53, help="default port")
    ap.add_argument("--query", action="append", required=True,
                    help="NAME/TYPE, e.g. www.example.com/A (cycled)")
    ap.add_argument("--count", type=int, default=5, help="number of lookups")
    ap.add_argument("--interval", type=float, default=0.2,
                    help="seconds between the starts of two lookups")
    ap.add_argument("--timeout", type=float, default=1.0,
                    help="seconds to wait for each try (glibc: 5)")
    ap.add_argument("--attempts", type=int, default=1,
                    help="rounds over all servers (glibc: 2)")
    ap.add_argument("--rotate", action="store_true")
    ap.add_argument("--parallel", action="store_true",
                    help="ask every server at once from one socket, take the "
                         "first answer")
    ap.add_argument("--bind", help="source address")
    ap.add_argument("--edns", action="store_true", help="add an OPT record")
    ap.add_argument("--seed", type=int, default=1,
                    help="seed for query ids (and --seeded-ports)")
    ap.add_argument("--seeded-ports", action="store_true",
                    help="source ports from the seed, in 32768-60999")
    ap.add_argument("--max-time", type=float, default=30.0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    servers = [parse_server(s, args.port) for s in args.server]
    queries = []
    for q in args.query:
        name, _, qtype = q.partition("/")
        queries.append((name, (qtype or "A").upper()))
    rng = random.Random(args.seed)
    port_rng = random.Random("ports-%d" % args.seed)
    used_ports = set()

    def next_port():
        for _ in range(1000):
            p = port_rng.randrange(32768, 61000)
            if p not in used_ports:
                used_ports.add(p)
                return p
        return 0
    t0 = time.monotonic()
    end = t0 + args.max_time

    def log(msg):
        if not args.quiet:
            print("dnsq %+7.3f %s" % (time.monotonic() - t0, msg),
                  file=sys.stderr, flush=True)

    lookups = []
    for i in range(args.count):
        name, qtype = queries[i % len(queries)]
        order = servers[i % len(servers):] + servers[:i % len(servers)] \
            if args.rotate else list(servers)
        lookups.append(Lookup(i, rng.randrange(1, 65536), name, qtype,
                              t0 + i * args.interval, order))

    def client_socket(server):
        """A non-blocking socket of server's family, bound as --bind and
        --seeded-ports say."""
        fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if args.bind or args.seeded_ports:
            port = next_port() if args.seeded_ports else 0
            addr = args.bind or ("::" if fam == socket.AF_INET6 else "0.0.0.0")
            try:
                s.bind((addr, port))
            except OSError:
                s.bind((addr, 0))
        s.setblocking(False)
        return s

    def send_parallel(lk):
        s = client_socket(lk.servers[0])
        query = dnswire.build_query(lk.qid, lk.name, lk.qtype, edns=args.edns)
        for server in lk.servers:
            try:
                s.sendto(query, server)
            except OSError as e:
                log("#%d %s %s -> %s send failed: %s" % (
                    lk.idx, lk.name, lk.qtype, fmt(server), e))
        lk.sock = s
        lk.deadline = time.monotonic() + args.timeout
        log("#%d %s %s id=%d -> %s from port %d (try %d)" % (
            lk.idx, lk.name, lk.qtype, lk.qid,
            " + ".join(fmt(x) for x in lk.servers), s.getsockname()[1],
            lk.attempt + 1))

    def send_try(lk):
        if args.parallel:
            send_parallel(lk)
            return
        server = lk.servers[lk.srv]
        s = client_socket(server)
        try:
            s.connect(server)
            s.send(dnswire.build_query(lk.qid, lk.name, lk.qtype,
                                       edns=args.edns))
        except OSError as e:
            log("#%d %s %s -> %s send failed: %s" % (lk.idx, lk.name, lk.qtype,
                                                     fmt(server), e))
            s.close()
            advance(lk, "send-error")
            return
        lk.sock = s
        lk.deadline = time.monotonic() + args.timeout
        log("#%d %s %s id=%d -> %s from port %d (try %d)" % (
            lk.idx, lk.name, lk.qtype, lk.qid, fmt(server),
            s.getsockname()[1], lk.attempt + 1))

    def close(lk):
        if lk.sock is not None:
            lk.sock.close()
            lk.sock = None
            lk.deadline = None

    def advance(lk, why):
        close(lk)
        lk.srv = len(lk.servers) if args.parallel else lk.srv + 1
        if lk.srv >= len(lk.servers):
            lk.srv = 0
            lk.attempt += 1
        if lk.attempt >= args.attempts:
            lk.result = why
            log("#%d %s %s: gave up (%s)" % (lk.idx, lk.name, lk.qtype, why))
            return
        send_try(lk)

    while True:
        now = time.monotonic()
        if now >= end or all(lk.result for lk in lookups):
            break
        for lk in lookups:
            if not lk.started and lk.start <= now:
                lk.started = True
                send_try(lk)
        for lk in lookups:
            if lk.sock is not None and lk.deadline <= now:
                log("#%d %s %s: no answer from %s in %.2fs, closing port %d" % (
                    lk.idx, lk.name, lk.qtype, fmt(lk.servers[lk.srv]),
                    args.timeout, lk.sock.getsockname()[1]))
                advance(lk, "timeout")
        if all(lk.result for lk in lookups):
            break
        waiting = [lk for lk in lookups if lk.sock is not None]
        wake = [end]
        wake += [lk.start for lk in lookups if not lk.started]
        wake += [lk.deadline for lk in waiting]
        timeout = max(0.0, min(wake) - time.monotonic())
        if not waiting:
            time.sleep(timeout)
            continue
        ready, _, _ = select.select([lk.sock for lk in waiting], [], [], timeout)
        for lk in waiting:
            if lk.sock not in ready:
                continue
            try:
                data, peer = lk.sock.recvfrom(4096)
            except ConnectionRefusedError:
                log("#%d %s %s: refused by %s (ICMP port unreachable)" % (
                    lk.idx, lk.name, lk.qtype, fmt(lk.servers[lk.srv])))
                advance(lk, "refused")
                continue
            except OSError as e:
                log("#%d recv error %s" % (lk.idx, e))
                advance(lk, "error")
                continue
            try:
                hdr = dnswire.parse_header(data)
            except ValueError:
                continue
            if hdr[0] != lk.qid:
                continue
            if args.parallel and tuple(peer[:2]) not in lk.servers:
                continue
            log("#%d %s %s: answer from %s, rcode %d, %d answers" % (
                lk.idx, lk.name, lk.qtype, fmt(tuple(peer[:2])),
                hdr[1] & 0xF, hdr[3]))
            close(lk)
            lk.result = "answered"
    for lk in lookups:
        close(lk)
    counts = {}
    for lk in lookups:
        counts[lk.result or "unfinished"] = counts.get(lk.result or "unfinished", 0) + 1
    log("summary: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

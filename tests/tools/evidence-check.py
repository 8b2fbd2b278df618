#!/usr/bin/env python3
"""evidence-check.py DB... - every number an evidence sentence states beside "error(s)",
"request(s)", "repl(y/ies)" or "client(s)" equals the finding's own field of that name, so the
evidence cannot contradict the counts printed next to it. Exit 1 listing each mismatch."""
import json
import re
import sqlite3
import sys

WORD = re.compile(r"\b(\d[\d,]*) (errors?|requests?|repl(?:y|ies)|clients?)\b")
FIELD = {"error": "errors", "request": "requests", "repl": "replies", "client": "clients"}


def check(path):
    bad = 0
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, diagnosis, server_ip, server_port, errors, requests, replies,"
                      " clients, evidence FROM findings").fetchall()
    for fid, label, ip, port, errors, requests, replies, clients, evidence in rows:
        fields = {"errors": errors, "requests": requests, "replies": replies,
                  "clients": len(json.loads(clients))}
        for sentence in json.loads(evidence):
            for num, word in WORD.findall(sentence):
                key = next(v for k, v in FIELD.items() if word.startswith(k))
                if int(num.replace(",", "")) != fields[key]:
                    print(f"{path}: finding {fid} {label} {ip}:{port}: says {num} {word}, "
                          f"field {key} = {fields[key]}: {sentence}")
                    bad += 1
    return bad, len(rows)


def main():
    total_bad = total = 0
    for path in sys.argv[1:]:
        bad, n = check(path)
        total_bad += bad
        total += n
    print(f"evidence-check: {total} findings, {total_bad} contradictions")
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""template-scan.py - finds template words left in reports (tests/kb-text.sh).

Usage: template-scan.py FILE...   prints "FILE:LINE: word: context" for each
                                  problem and exits 1 when there is one
       template-scan.py --self-test

Two kinds of problem:
  - a placeholder word: upper-case letters, two or more, optionally joined by
    hyphens (SERVER, OTHER-SERVER, CLIENTS, UNIT), the way the knowledge base
    once wrote a value it did not have. Real acronyms and identifiers (DNS,
    UDP, REJECT, HKLM\\SYSTEM) are listed below; a word joined to others by
    '_' or written after '$' in a shell variable is not a placeholder.
  - a count with the wrong plural: "1 datagrams", "1 errors" (the project's
    count nouns), and "(s)" plurals such as "client(s)".

HTML is read as text: <style>, <script> and tags are removed, entities kept
(none of them is upper case). The headings of the text report write the
diagnosis titles in capitals (SERVICE DOWN); those titles are removed first.
"""
import re
import sys

# Real acronyms and identifiers that reports and `portmortem explain` print.
ACRONYMS = set("""
AAAA AD AI BIND BYE CLDAP CNAME CSV DC DCE DHCP DNS ECMP ESP GELF GENEVE HKLM HTML
HTTP HTTPS IANA IAS ICMP IIS IKE IKEEXT IP IPFIX ISC JSON KDC LDAP LLMNR MIT MTU MX NAS
NAT NFS NMS NPS NS NTDS NTP ONC OPTIONS OVS PBX PTP PTR PXE QUIC RADIUS REJECT RFC RHEL
RPC RRAS RTCP RTP SDP SEARCH SIP SNMP SNMPTRAP SOA SQL SRV SRTP SSDP SSDPSRV SSH STUN
SYSTEM TCP TFTP TLS TTL TURN TXT UDP UTC UTF VNI VPN VTEP VXLAN WINS
""".split())
# Words that come from packets, not from portmortem: the hostile capture's DNS names
# (tests/captures/hostile-names.pcap asks for "+SUM(1)", a spreadsheet formula).
FROM_PACKETS = {"SUM"}

# The diagnosis titles as the text report's headings write them.
HEADINGS = [
    "SERVICE DOWN", "SERVICE RESTARTED", "INTERMITTENT", "WRONG PORT", "WRONG HOST",
    "LATE REPLY", "DUPLICATE REPLY", "STREAM ENDED", "TRACEROUTE", "UDP PORT SCAN",
    "UNSOLICITED", "REFLECTION ATTACK", "FIREWALL REJECT", "RATE-LIMITED",
]

COUNT_NOUNS = ("errors requests replies datagrams clients ports packets captures findings "
               "events names hops probes servers sources reporters reflectors senders hosts "
               "queries answers runs bytes members files seconds refusals entries lines "
               "addresses networks messages").split()

WORD = re.compile(r"(?<![\w$])[A-Z]{2,}(?:-[A-Z]+)*(?![\w])")
PLURAL = re.compile(r"(?<![\d.,])\b1 (?:" + "|".join(COUNT_NOUNS) + r")\b")
PAREN_S = re.compile(r"\b[a-z]+\((?:s|es)\)")
HEADING = re.compile(r"\b(?:" + "|".join(re.escape(h) for h in HEADINGS) + r")\b")
# A Community ID (v1): base64 of a SHA-1, whose capital letters are no words.
COMMUNITY_ID = re.compile(r"\b1:[A-Za-z0-9+/]{27}=")


def html_to_text(s):
    s = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", s)
    return re.sub(r"<[^>]*>", " ", s)


def problems(text):
    """Yields (line number, word, line) for every problem in text."""
    for no, line in enumerate(text.splitlines(), 1):
        plain = COMMUNITY_ID.sub(" ", HEADING.sub(" ", line))
        for m in WORD.finditer(plain):
            w = m.group(0)
            if w not in ACRONYMS and w not in FROM_PACKETS:
                yield no, w, line
        for rx in (PLURAL, PAREN_S):
            for m in rx.finditer(line):
                yield no, m.group(0), line


def scan_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if path.endswith(".html"):
        text = html_to_text(text)
    n = 0
    for no, word, line in problems(text):
        n += 1
        if n <= 20:
            print(f"{path}:{no}: {word}: {line.strip()[:160]}")
    return n


def self_test():
    bad = ["... but OTHER-SERVER answers for the same clients (CLIENTS).",
           "systemctl start UNIT", "Start-Service SERVICE", "(1 datagrams)", "1 errors",
           "refused by SERVER itself", "from client(s)"]
    good = ["[1] SERVICE DOWN  dns  192.0.2.1:53/udp", "12 datagrams from 1 client",
            "ICMP port unreachable, TTL 64", "radtest \"$user\" 0 \"$secret\"",
            "Get-WinEvent ... HKLM:\\SYSTEM\\CurrentControlSet", "0.1 seconds",
            "CONNECTION_CLOSE", "a (1 datagram) and 11 datagrams", "LINUX_SLL2",
            "community_id 1:YEuFEDNVBIERZ2EFS+3+syW1n4c="]
    failed = [s for s in bad if not list(problems(s))]
    failed += [s for s in good if list(problems(s))]
    for s in failed:
        print("self-test: wrong verdict on:", s)
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    total = sum(scan_file(p) for p in argv[1:])
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

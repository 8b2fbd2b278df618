#!/usr/bin/env bash
# tests/captures/record-hostile.sh — record the hostile-input capture of the report tests.
#
# A client (namespace pmh-c, 203.0.113.230) sends DNS queries to a server
# (pmh-s, 203.0.113.253) on whose port 53 nothing listens, so the server's
# kernel answers each with ICMP port unreachable that quotes the query, and
# with it a query name built to attack a report: HTML and attribute
# injection, CSV formulas, terminal escape sequences, invalid UTF-8, a NUL
# byte, a tab and a CR.  Recorded like samples/record.sh does: real kernels,
# veth pair, tcpdump on the client's interface, ICMP rate limit off,
# checksum offload off, fixed MACs, IPv6 off, documentation addresses only.
#
#   tests/captures/record-hostile.sh     writes tests/captures/hostile-names.pcap
#                                        and tests/captures/expected/hostile-names.labels
#
# Needs root (network namespaces).  Takes a few seconds.  The namespaces and
# every process it started are removed on exit, whatever happens.
set -euo pipefail
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
CLI=203.0.113.230
SRV=203.0.113.253
SEED=41
NAME=hostile-names

# The query names, as tools/rawq.py reads them (\xHH is a byte, "." separates labels).
NAMES=(
    '<script>alert(1)</script>'              # one label, bytes as they are
    'x"onmouseover=alert(1)"y.example'
    "=cmd|' /C calc'!A0.example"
    '\x1b[31mred\x1b[0m.example'             # SGR colour
    '\x1b]0;title\x07.example'               # OSC: set the window title
    'bad\xff\xfeutf8.example'                # not UTF-8
    'nul\x00inside.example'                  # a NUL inside a label
    '+SUM(1)'
    '-2+3'
    '@x'
    '\x09tab.example'                         # a label starting with a tab
    '\x0dcr.example'                          # and with a CR
)

case "${1:-}" in
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "record-hostile.sh: no arguments expected" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "record-hostile.sh: needs root (network namespaces): sudo $0" >&2
    exit 2
fi
need_pkgs=()
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v tcpdump >/dev/null 2>&1 || need_pkgs+=(tcpdump)
command -v ethtool >/dev/null 2>&1 || need_pkgs+=(ethtool)
[ -x "$PY" ] || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "record-hostile.sh: installing ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null; }
fi

NAMESPACES=(pmh-c pmh-s)
WORK=$(mktemp -d /tmp/pm-hostile.XXXXXX)
CAP_PID=
cleanup() {
    if [ -n "$CAP_PID" ]; then kill -TERM "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; fi
    local ns
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "record-hostile.sh: interrupted" >&2; exit 130' INT TERM HUP
for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done

mac() { local IFS=.; set -- $1; printf '02:50:4d:%02x:%02x:%02x\n' "$2" "$3" "$4"; }
for ns in "${NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_ratemask=0
    ip -n "$ns" link set lo up
done
ip link add vc netns pmh-c address "$(mac $CLI)" type veth peer name vs netns pmh-s address "$(mac $SRV)"
ip netns exec pmh-c ethtool -K vc tx off >/dev/null 2>&1 || true
ip netns exec pmh-s ethtool -K vs tx off >/dev/null 2>&1 || true
ip -n pmh-c addr add "$CLI/24" dev vc
ip -n pmh-s addr add "$SRV/24" dev vs
ip -n pmh-c link set vc up
ip -n pmh-s link set vs up

timeout 60 ip netns exec pmh-c tcpdump -Z root -U --immediate-mode -B 32768 -n -i vc \
    -w "$WORK/$NAME.pcap" 2>"$WORK/tcpdump.err" &
CAP_PID=$!
for _ in $(seq 1 250); do grep -q 'listening on' "$WORK/tcpdump.err" 2>/dev/null && break; sleep 0.02; done
grep -q 'listening on' "$WORK/tcpdump.err" || { echo "record-hostile.sh: tcpdump did not start" >&2; cat "$WORK/tcpdump.err" >&2; exit 1; }

args=()
for n in "${NAMES[@]}"; do args+=("--name=$n"); done   # "=": a name may start with "-"
timeout 30 ip netns exec pmh-c "$PY" "$HERE/tools/rawq.py" --server "$SRV" --seed "$SEED" \
    --interval 0.05 --wait 0.5 "${args[@]}" 2>"$WORK/rawq.log" || { cat "$WORK/rawq.log" >&2; exit 1; }
cat "$WORK/rawq.log" >&2
sleep 0.3
kill -TERM "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=
grep -E 'captured|received|dropped' "$WORK/tcpdump.err" | sed 's/^/tcpdump: /' >&2

# Check: every query was refused, and the capture holds one port unreachable per name.
want=${#NAMES[@]}
refused=$(grep -c ': refused$' "$WORK/rawq.log" || true)
pu=$(tcpdump -n -r "$WORK/$NAME.pcap" 'icmp[icmptype] == 3 and icmp[icmpcode] == 3' 2>/dev/null | wc -l)
if [ "$refused" -ne "$want" ] || [ "$pu" -ne "$want" ]; then
    echo "record-hostile.sh: FAILED: $want names, $refused refused, $pu port unreachable in the capture" >&2
    exit 1
fi
mkdir -p "$HERE/expected"
mv -f "$WORK/$NAME.pcap" "$HERE/$NAME.pcap"
chmod 644 "$HERE/$NAME.pcap"
printf 'service-down\t%s\t53\t-\n' "$SRV" >"$HERE/expected/$NAME.labels"
echo "record-hostile.sh: $HERE/$NAME.pcap: $want queries, $pu port unreachable" >&2

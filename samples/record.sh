#!/usr/bin/env bash
# samples/record.sh — record portmortem's real sample captures.
#
# Every scenario runs in fresh Linux network namespaces (pm-c client, pm-s
# server, pm-s2 second server, pm-r router, pm-sw switch), joined by veth
# pairs, with real kernels answering: the ICMP port unreachable messages in
# the captures are the ones Linux sends.  Traffic stays between those
# namespaces and uses documentation addresses only (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
#
#   samples/record.sh              record samples/*.pcap, samples/formats/ and
#                                  their expected/ directories
#   samples/record.sh --holdout    record an independent set (other addresses,
#                                  names, counts, timings) into tests/holdout/
#   samples/record.sh --only NAME  record just one scenario (repeatable)
#   samples/record.sh --list       list the scenarios
#
# Every scenario of a set has its own client and server addresses, so the
# top-level captures of a set analysed together read as one mixed incident
# with one finding per scenario.  Copies of the same packets in other file
# formats go to formats/ (analysing them with the rest would count the same
# packets twice).
#
# Needs root.  Takes one to two minutes.  Overwrites its outputs; deletes its
# namespaces on exit, whatever happens.
set -euo pipefail
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TOOLS=$HERE/tools
PY=/usr/bin/python3
PROFILE=samples
OUT=$HERE
ONLY=()

SCENARIOS=(dns-closed-v4 dns-closed-v6 dns-closed-vlan dns-closed-any
           dns-restart dns-wrong-port dns-wrong-host dns-late-reply
           traceroute udp-scan firewall-reject rate-limited)

usage() {
    sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --holdout) PROFILE=holdout; OUT=$ROOT/tests/holdout ;;
        --only) [ $# -ge 2 ] || usage 2; ONLY+=("$2"); shift ;;
        --list) printf '%s\n' "${SCENARIOS[@]}"; exit 0 ;;
        -h|--help) usage 0 ;;
        *) echo "record.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
    shift
done

for o in "${ONLY[@]}"; do
    case " ${SCENARIOS[*]} " in
        *" $o "*) ;;
        *) echo "record.sh: unknown scenario: $o (see --list)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "record.sh: needs root (network namespaces, raw sockets): sudo $0" >&2
    exit 2
fi

# ---------------------------------------------------------------- tools ---
need_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
need ip iproute2; need tc iproute2; need tcpdump tcpdump; need tshark tshark
need editcap wireshark-common; need capinfos wireshark-common
need nmap nmap; need traceroute traceroute; need ethtool ethtool
need clang clang; need zstd zstd; need gzip gzip; need timeout coreutils
[ -x "$PY" ] || need_pkgs+=(python3)
[ -e /usr/include/bpf/bpf_helpers.h ] || need_pkgs+=(libbpf-dev)
command -v iptables >/dev/null 2>&1 || command -v nft >/dev/null 2>&1 \
    || need_pkgs+=(iptables)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "record.sh: installing ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null; }
fi

# ------------------------------------------------------------- profiles ---
# One profile per set.  Everything that differs between the bundled samples
# and the hold-out set is here.
# Addresses: every scenario has its own client and server(s).  A LAN
# scenario puts client and server in LAN4 (/24); the routed ones (traceroute,
# firewall-reject) put the client in LAN4 behind the router RT_GW and the
# server behind RT_GW2, in another /24.
if [ "$PROFILE" = samples ]; then
    V4_CLI=192.0.2.10;   V4_SRV=192.0.2.53         # dns-closed-v4 (+ formats)
    V6_CLI=2001:db8::10; V6_SRV=2001:db8::53       # dns-closed-v6 (+ .zst)
    VL_CLI=192.0.2.11;   VL_SRV=192.0.2.63         # dns-closed-vlan
    ANY_CLI=192.0.2.12;  ANY_SRV=192.0.2.73        # dns-closed-any
    RS_CLI=192.0.2.13;   RS_SRV=192.0.2.83         # dns-restart
    WP_CLI=192.0.2.14;   WP_SRV=192.0.2.93         # dns-wrong-port
    WH_CLI=192.0.2.15;   WH_SRV=192.0.2.103; WH_DOWN=192.0.2.104  # dns-wrong-host
    LR_CLI=192.0.2.16;   LR_SRV=192.0.2.113        # dns-late-reply
    TR_CLI=192.0.2.17;   TR_TGT=198.51.100.20      # traceroute
    FW_CLI=192.0.2.18;   FW_SRV=198.51.100.53      # firewall-reject
    RL_CLI=192.0.2.19;   RL_SRV=192.0.2.133        # rate-limited
    RT_GW=192.0.2.1;     RT_GW2=198.51.100.1       # router of the routed ones
    SCAN_SRC=203.0.113.66; SCAN_DST=192.0.2.123    # udp-scan
    LAN4=24
    SCAN_PORTS=1-60; SCAN_LOW=1; SCAN_SPORT=61374
    SCAN_OPEN=9          # discard service: reads, never answers
    ANS_A=192.0.2.80; ANS_AAAA=2001:db8::80; ANS_MX=mx.example.org
    VLAN=100; ALTPORT=8053
    Q_MAIN=(www.example.com/A mail.example.org/MX www.example.net/AAAA)
    Q_ALT=(ntp.example.com/A example.org/MX)
    SEED=1
    N_CLOSED=5;  IV_CLOSED=0.2
    N_RESTART=17; IV_RESTART=0.2; RESTART_DOWN=4; RESTART_UP=11
    N_WPORT=4;   IV_WPORT=0.25
    N_WHOST=6;   IV_WHOST=0.25
    N_LATE=2;    IV_LATE=1.6; LATE_DELAY=1.5; LATE_TIMEOUT=0.5; LATE_TRIES=3
    TR_ARGS=(-n -q 1 -m 5)
    N_FW=4;      IV_FW=0.25; FW_TRIES=1
    N_RL=60;     IV_RL=0.0083
    EDNS=()
else
    V4_CLI=198.51.100.44;    V4_SRV=198.51.100.2
    V6_CLI=2001:db8:5:1::44; V6_SRV=2001:db8:5:1::2
    VL_CLI=198.51.100.45;    VL_SRV=198.51.100.12
    ANY_CLI=198.51.100.46;   ANY_SRV=198.51.100.22
    RS_CLI=198.51.100.47;    RS_SRV=198.51.100.32
    WP_CLI=198.51.100.48;    WP_SRV=198.51.100.62
    WH_CLI=198.51.100.49;    WH_SRV=198.51.100.72; WH_DOWN=198.51.100.73
    LR_CLI=198.51.100.50;    LR_SRV=198.51.100.82
    TR_CLI=198.51.100.52;    TR_TGT=203.0.113.9
    FW_CLI=198.51.100.53;    FW_SRV=203.0.113.53
    RL_CLI=198.51.100.51;    RL_SRV=198.51.100.92
    RT_GW=198.51.100.1;      RT_GW2=203.0.113.1
    SCAN_SRC=192.0.2.77;     SCAN_DST=198.51.100.102
    LAN4=24
    SCAN_PORTS=500-530; SCAN_LOW=500; SCAN_SPORT=48211
    SCAN_OPEN=514        # syslog collector: reads, never answers
    ANS_A=203.0.113.80; ANS_AAAA=2001:db8:5:2::80; ANS_MX=smtp.example.net
    VLAN=42; ALTPORT=5353
    Q_MAIN=(api.example.com/A example.net/MX ns1.example.org/AAAA
            ftp.example.com/A)
    Q_ALT=(login.example.net/A example.com/TXT)
    SEED=7
    N_CLOSED=7;  IV_CLOSED=0.15
    N_RESTART=20; IV_RESTART=0.15; RESTART_DOWN=5; RESTART_UP=13
    N_WPORT=5;   IV_WPORT=0.2
    N_WHOST=8;   IV_WHOST=0.2
    N_LATE=3;    IV_LATE=0.9; LATE_DELAY=1.2; LATE_TIMEOUT=0.4; LATE_TRIES=2
    TR_ARGS=(-n -q 2 -m 6)
    N_FW=6;      IV_FW=0.2; FW_TRIES=2
    N_RL=80;     IV_RL=0.0075
    EDNS=(--edns)
fi
# No address serves two scenarios of a set (the routers are shared on purpose).
dup=$(printf '%s\n' "$V4_CLI" "$V4_SRV" "$V6_CLI" "$V6_SRV" "$VL_CLI" "$VL_SRV" \
    "$ANY_CLI" "$ANY_SRV" "$RS_CLI" "$RS_SRV" "$WP_CLI" "$WP_SRV" "$WH_CLI" \
    "$WH_SRV" "$WH_DOWN" "$LR_CLI" "$LR_SRV" "$TR_CLI" "$TR_TGT" "$FW_CLI" \
    "$FW_SRV" "$RL_CLI" "$RL_SRV" "$RT_GW" "$RT_GW2" "$SCAN_SRC" "$SCAN_DST" \
    | sort | uniq -d)
if [ -n "$dup" ]; then
    echo "record.sh: address used twice in the $PROFILE profile: $dup" >&2
    exit 2
fi
FMT=$OUT/formats        # other-format copies of the same captures
REF=$ROOT/tests/tools/tshark-ref.sh

# --------------------------------------------------------- housekeeping ---
NAMESPACES=(pm-c pm-s pm-s2 pm-r pm-sw)
WORK=$(mktemp -d /tmp/pm-record.XXXXXX)
chmod 755 "$WORK"
PIDS=()
FAILS=0
T_START=$(date +%s)

log() { printf '%s\n' "$*" >&2; }

stop_pid() {   # stop one background process we started, by its id
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

teardown() {
    local p ns
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    teardown
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "record.sh: interrupted"; exit 130' INT TERM HUP

# bg NS SECONDS CMD... : run CMD inside NS in the background, killed after
# SECONDS at the latest; its pid is in BG_PID.
bg() {
    local ns=$1 secs=$2; shift 2
    timeout "$secs" ip netns exec "$ns" "$@" &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

# wait_file FILE PATTERN : wait (at most 5 s) until FILE exists / holds PATTERN
wait_file() {
    local _
    for _ in $(seq 1 250); do
        if [ -n "${2:-}" ]; then
            grep -q "$2" "$1" 2>/dev/null && return 0
        else
            [ -e "$1" ] && return 0
        fi
        sleep 0.02
    done
    log "record.sh: timed out waiting for $1 ${2:-}"
    return 1
}

# ns_add NAME [v6] [icmp-limits] : fresh namespace, loopback up, IPv6 off
# unless v6, ICMP rate limits off unless icmp-limits.
ns_add() {
    local ns=$1; shift
    local v6=0 limits=0 a
    for a in "$@"; do
        case "$a" in v6) v6=1 ;; icmp-limits) limits=1 ;; esac
    done
    ip netns add "$ns"
    if [ $v6 -eq 1 ]; then
        ip netns exec "$ns" sysctl -qw \
            net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.router_solicitations=0 \
            net.ipv6.conf.default.router_solicitations=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    else
        ip netns exec "$ns" sysctl -qw \
            net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    fi
    if [ $limits -eq 1 ]; then
        # Linux defaults, spelled out: per-peer token bucket (1 per 1000 ms,
        # burst 6) for types 3,4,11,12; global 1000/s, burst 50.
        ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=1000 \
            net.ipv4.icmp_ratemask=6168 net.ipv4.icmp_msgs_per_sec=1000 \
            net.ipv4.icmp_msgs_burst=50 net.ipv6.icmp.ratelimit=100
    else
        ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 \
            net.ipv4.icmp_ratemask=0 net.ipv6.icmp.ratelimit=0 \
            "net.ipv6.icmp.ratemask="
    fi
    ip -n "$ns" link set lo up
}

# veth NS1 IF1 MAC1 NS2 IF2 MAC2 : a cable between two namespaces, checksum
# offload off so that captured (and quoted) UDP checksums are the real ones.
veth() {
    ip link add "$2" netns "$1" address "$3" type veth \
        peer name "$5" netns "$4" address "$6"
    ip netns exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 || true
    ip netns exec "$4" ethtool -K "$5" tx off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}

# mac ADDR : the fixed MAC of the interface that holds ADDR, made from the
# address (02:50:4d + the last three IPv4 bytes, or 02:50:4d:06 + the last
# IPv6 group), so that no two hosts of a set share a MAC
mac() {
    case "$1" in
        *:*) local g=${1##*:}; g=$(printf '%04x' "0x${g:-0}")
             printf '02:50:4d:06:%s:%s\n' "${g:0:2}" "${g:2:2}" ;;
        *)   local IFS=.; set -- $1
             printf '02:50:4d:%02x:%02x:%02x\n' "$2" "$3" "$4" ;;
    esac
}
MAC_SW0=02:50:4d:00:0f:00; MAC_SW1=02:50:4d:00:0f:01; MAC_SW2=02:50:4d:00:0f:02

# topo_lan CLIENT SERVER [v6] [icmp-limits]: pm-c:vc <-> pm-s:vs on one link
topo_lan() {
    local cli=$1 srv=$2; shift 2
    ns_add pm-c "$@"
    ns_add pm-s "$@"
    veth pm-c vc "$(mac "$cli")" pm-s vs "$(mac "$srv")"
    if [ "${1:-}" = v6 ]; then
        ip -n pm-c addr add "$cli/64" dev vc nodad
        ip -n pm-s addr add "$srv/64" dev vs nodad
    else
        ip -n pm-c addr add "$cli/$LAN4" dev vc
        ip -n pm-s addr add "$srv/$LAN4" dev vs
    fi
}

# topo_lan3 CLIENT SERVER SERVER2: pm-c, pm-s, pm-s2 on one switch (a bridge
# in pm-sw)
topo_lan3() {
    ns_add pm-sw; ns_add pm-c; ns_add pm-s; ns_add pm-s2
    ip -n pm-sw link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
    ip -n pm-sw link set br0 up
    veth pm-c vc "$(mac "$1")" pm-sw p0 "$MAC_SW0"
    veth pm-s vs "$(mac "$2")" pm-sw p1 "$MAC_SW1"
    veth pm-s2 vs "$(mac "$3")" pm-sw p2 "$MAC_SW2"
    local p
    for p in p0 p1 p2; do ip -n pm-sw link set "$p" master br0; done
    ip -n pm-c addr add "$1/$LAN4" dev vc
    ip -n pm-s addr add "$2/$LAN4" dev vs
    ip -n pm-s2 addr add "$3/$LAN4" dev vs
}

# topo_routed CLIENT SERVER: pm-c:vc <-> rc:pm-r:rs <-> vs:pm-s, pm-r forwards
topo_routed() {
    ns_add pm-c; ns_add pm-r; ns_add pm-s
    veth pm-c vc "$(mac "$1")" pm-r rc "$(mac "$RT_GW")"
    veth pm-r rs "$(mac "$RT_GW2")" pm-s vs "$(mac "$2")"
    ip -n pm-c addr add "$1/24" dev vc
    ip -n pm-r addr add "$RT_GW/24" dev rc
    ip -n pm-r addr add "$RT_GW2/24" dev rs
    ip -n pm-s addr add "$2/24" dev vs
    ip -n pm-c route add default via "$RT_GW"
    ip -n pm-s route add default via "$RT_GW2"
    ip netns exec pm-r sysctl -qw net.ipv4.ip_forward=1
}

# topo_onlink SRC DST: two hosts on one link with addresses from different
# prefixes, reaching each other through on-link host routes
topo_onlink() {
    ns_add pm-c; ns_add pm-s
    veth pm-c vc "$(mac "$1")" pm-s vs "$(mac "$2")"
    ip -n pm-c addr add "$1/24" dev vc
    ip -n pm-s addr add "$2/24" dev vs
    ip -n pm-c route add "$2/32" dev vc
    ip -n pm-s route add "$1/32" dev vs
}

# capture NS IFACE FILE [tcpdump args...] : start tcpdump, wait until it
# listens; pid in CAP_PID (several captures may run at once)
CAP_N=0
capture() {
    local ns=$1 ifc=$2 file=$3; shift 3
    CAP_N=$((CAP_N + 1))
    local err=$WORK/tcpdump.$CAP_N.err
    timeout 60 ip netns exec "$ns" tcpdump -Z root -U --immediate-mode -B 32768 -n -i "$ifc" \
        -w "$file" "$@" 2>"$err" &
    CAP_PID=$!
    CAP_ERR[$CAP_PID]=$err
    PIDS+=("$CAP_PID")
    wait_file "$err" 'listening on'
}

# cap_stop PID : stop a capture, report what tcpdump counted
declare -A CAP_ERR
cap_stop() {
    stop_pid "$1"
    local err=${CAP_ERR[$1]:-}
    [ -n "$err" ] || return 0
    log "    tcpdump: $(grep -E 'captured|received|dropped' "$err" | tr '\n' ' ')"
    if grep -qE '^[1-9][0-9]* packets? dropped by kernel' "$err"; then
        log "    FAILED: tcpdump dropped packets"
        FAILS=$((FAILS + 1))
    fi
}

settle() { sleep 0.3; }

# dnsd NS SECONDS [args...] : DNS responder; waits until it listens
DNSD_N=0
dnsd() {
    local ns=$1 secs=$2; shift 2
    DNSD_N=$((DNSD_N + 1))
    local ready=$WORK/dnsd.$DNSD_N.ready
    bg "$ns" "$secs" "$PY" "$TOOLS/dnsd.py" --duration "$secs" \
        --a "$ANS_A" --aaaa "$ANS_AAAA" --mx "$ANS_MX" \
        --ready-file "$ready" "$@"
    DNSD_PID=$BG_PID
    wait_file "$ready"
}

# dnsq NS [args...] : DNS client in the foreground (bounded by timeout).
# Query ids and source ports come from a seed of its own per scenario
# (SC_SEED), so two recordings match and two scenarios do not.
dnsq() {
    local ns=$1; shift
    timeout 30 ip netns exec "$ns" "$PY" "$TOOLS/dnsq.py" --seed "$SC_SEED" \
        --seeded-ports "${EDNS[@]}" "$@"
}

qargs() { local q; for q in "$@"; do printf -- '--query\n%s\n' "$q"; done; }
mapfile -t QA_MAIN < <(qargs "${Q_MAIN[@]}")
mapfile -t QA_ALT < <(qargs "${Q_ALT[@]}")

# ------------------------------------------------------------- checking ---
# counts FILE : "pu4 pu6 te4 te6 unr udp vlan" — ICMP 3/3, ICMPv6 1/4,
# ICMP 11, ICMPv6 3, any ICMP 3 / ICMPv6 1, UDP datagrams (not quoted),
# frames with an 802.1Q tag
counts() {
    tshark -r "$1" -T fields -e icmp.type -e icmp.code -e icmpv6.type \
        -e icmpv6.code -e udp.srcport -e vlan.id 2>/dev/null | awk -F'\t' '
        { t4=$1; c4=$2; t6=$3; c6=$4 }
        t4=="3" && c4=="3" { pu4++ }
        t6=="1" && c6=="4" { pu6++ }
        t4=="11" { te4++ }
        t6=="3" { te6++ }
        t4=="3" || t6=="1" { unr++ }
        t4=="" && t6=="" && $5!="" { udp++ }
        $6!="" { vl++ }
        END { printf "%d %d %d %d %d %d %d\n", pu4, pu6, te4, te6, unr, udp, vl }'
}

# check NAME CONDITION-TEXT TEST... : report, remember failures
check() {
    local what=$1; shift
    if "$@"; then
        log "    ok: $what"
    else
        log "    FAILED: $what"
        FAILS=$((FAILS + 1))
    fi
}

# ref_of FILE : where the tshark reference of FILE goes (DIR/expected/NAME.ref)
ref_of() { printf '%s/expected/%s.ref\n' "$(dirname "$1")" "$(basename "$1")"; }

# labels NAME DIAGNOSIS IP PORT [SECONDARY]
labels() {
    printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "${5:--}" \
        >"$OUT/expected/$1.labels"
}

# publish NAME... : move finished captures from WORK to OUT (NAME may be
# formats/NAME), write their reference (tests/tools/tshark-ref.sh) into
# expected/NAME.ref beside them, print a summary line
publish() {
    local f
    for f in "$@"; do
        mv -f "$WORK/$f" "$OUT/$f"
        chmod 644 "$OUT/$f"
        "$REF" "$OUT/$f" >"$(ref_of "$OUT/$f")"
        read -r pu4 pu6 te4 te6 _ udp _ < <(counts "$OUT/$f")
        log "    $(printf '%-26s %6d bytes  %3d frames  udp %3d  3/3 %3d  1/4 %3d  time-exceeded %d' \
            "$f" "$(stat -c %s "$OUT/$f")" \
            "$(capinfos -c -M -T "$OUT/$f" 2>/dev/null | awk -F'\t' 'NR==2{print $2}')" \
            "$udp" "$pu4" "$pu6" $((te4 + te6)))"
    done
}

wanted() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local o; for o in "${ONLY[@]}"; do [ "$o" = "$1" ] && return 0; done
    return 1
}

# ------------------------------------------------------------ scenarios ---

# 1 + 5: nothing listens on V4_SRV:53.  Two tcpdumps on the same interface:
# microsecond and nanosecond timestamps of the very same frames.
# The copies (nanosecond pcap, pcapng, gzip) go to formats/.
sc_dns-closed-v4() {
    topo_lan "$V4_CLI" "$V4_SRV"
    capture pm-c vc "$WORK/dns-closed-v4.pcap"
    local p1=$CAP_PID
    capture pm-c vc "$WORK/formats/dns-closed-v4-ns.pcap" --time-stamp-precision=nano
    local p2=$CAP_PID
    dnsq pm-c --server "$V4_SRV" "${QA_MAIN[@]}" --count "$N_CLOSED" \
        --interval "$IV_CLOSED" --timeout 1 --attempts 1
    settle; cap_stop "$p1"; cap_stop "$p2"
    editcap -F pcapng "$WORK/dns-closed-v4.pcap" "$WORK/formats/dns-closed-v4.pcapng"
    gzip -n -9 -c "$WORK/dns-closed-v4.pcap" >"$WORK/formats/dns-closed-v4.pcap.gz"
    publish dns-closed-v4.pcap formats/dns-closed-v4-ns.pcap \
        formats/dns-closed-v4.pcapng formats/dns-closed-v4.pcap.gz
    labels dns-closed-v4 service-down "$V4_SRV" 53
    read -r pu4 _ < <(counts "$OUT/dns-closed-v4.pcap")
    check "$N_CLOSED queries, $N_CLOSED port unreachable" [ "$pu4" -eq "$N_CLOSED" ]
    check "nanosecond pcap magic" [ "$(od -An -tx4 -N4 "$FMT/dns-closed-v4-ns.pcap" | tr -d ' ')" = a1b23c4d ]
    local c
    for c in dns-closed-v4-ns.pcap dns-closed-v4.pcapng dns-closed-v4.pcap.gz; do
        check "formats/$c has the same ICMP errors" \
            cmp -s "$(ref_of "$OUT/dns-closed-v4.pcap")" "$(ref_of "$FMT/$c")"
    done
}

# 2 + 5: the same over IPv6 (ICMPv6 1/4).  Only UDP, neighbour discovery and
# ICMPv6 errors are kept (no MLD reports: their timing is not ours).
# The zstd copy goes to formats/.
sc_dns-closed-v6() {
    topo_lan "$V6_CLI" "$V6_SRV" v6
    capture pm-c vc "$WORK/dns-closed-v6.pcap" \
        'udp or (icmp6 and (ip6[40] < 128 or ip6[40] == 135 or ip6[40] == 136))'
    dnsq pm-c --server "$V6_SRV" "${QA_MAIN[@]}" --count "$N_CLOSED" \
        --interval "$IV_CLOSED" --timeout 1 --attempts 1
    settle; cap_stop "$CAP_PID"
    zstd -q -19 --no-progress -f "$WORK/dns-closed-v6.pcap" -o "$WORK/formats/dns-closed-v6.pcap.zst"
    publish dns-closed-v6.pcap formats/dns-closed-v6.pcap.zst
    labels dns-closed-v6 service-down "$V6_SRV" 53
    read -r _ pu6 _ < <(counts "$OUT/dns-closed-v6.pcap")
    check "$N_CLOSED queries, $N_CLOSED ICMPv6 port unreachable" [ "$pu6" -eq "$N_CLOSED" ]
    check "formats/dns-closed-v6.pcap.zst has the same ICMP errors" \
        cmp -s "$(ref_of "$OUT/dns-closed-v6.pcap")" "$(ref_of "$FMT/dns-closed-v6.pcap.zst")"
}

# 3: like 1, every frame carries an 802.1Q tag on the wire.  The kernel has
# no 8021q module: a tc-BPF program pushes the tag on egress and pops it on
# ingress on both veth ends; tcpdump sees the tagged frames both ways.
sc_dns-closed-vlan() {
    clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)" \
        -DVLAN_ID="$VLAN" -c "$TOOLS/vlan_tag.c" -o "$WORK/vlan_tag.o"
    topo_lan "$VL_CLI" "$VL_SRV"
    local spec
    for spec in "pm-c vc" "pm-s vs"; do
        set -- $spec
        ip netns exec "$1" tc qdisc add dev "$2" clsact
        ip netns exec "$1" tc filter add dev "$2" egress bpf direct-action \
            obj "$WORK/vlan_tag.o" sec vlan_push
        ip netns exec "$1" tc filter add dev "$2" ingress bpf direct-action \
            obj "$WORK/vlan_tag.o" sec vlan_pop
    done
    capture pm-c vc "$WORK/dns-closed-vlan.pcap"
    dnsq pm-c --server "$VL_SRV" "${QA_MAIN[@]}" --count "$N_CLOSED" \
        --interval "$IV_CLOSED" --timeout 1 --attempts 1
    settle; cap_stop "$CAP_PID"
    publish dns-closed-vlan.pcap
    labels dns-closed-vlan service-down "$VL_SRV" 53
    local f=$OUT/dns-closed-vlan.pcap tagged all
    read -r pu4 _ < <(counts "$f")
    tagged=$(tshark -r "$f" -Y "vlan.id == $VLAN && icmp.type == 3 && icmp.code == 3" 2>/dev/null | wc -l)
    all=$(tshark -r "$f" 2>/dev/null | wc -l)
    check "$N_CLOSED port unreachable, all in VLAN $VLAN" [ "$pu4" -eq "$N_CLOSED" -a "$tagged" -eq "$pu4" ]
    check "every frame tagged" [ "$(tshark -r "$f" -Y "vlan.id == $VLAN" 2>/dev/null | wc -l)" -eq "$all" ]
}

# 4: like 1, captured on the "any" pseudo-device (LINUX_SLL2)
sc_dns-closed-any() {
    topo_lan "$ANY_CLI" "$ANY_SRV"
    capture pm-c any "$WORK/dns-closed-any.pcap" -y LINUX_SLL2
    dnsq pm-c --server "$ANY_SRV" "${QA_MAIN[@]}" --count "$N_CLOSED" \
        --interval "$IV_CLOSED" --timeout 1 --attempts 1
    settle; cap_stop "$CAP_PID"
    publish dns-closed-any.pcap
    labels dns-closed-any service-down "$ANY_SRV" 53
    read -r pu4 _ < <(counts "$OUT/dns-closed-any.pcap")
    check "$N_CLOSED port unreachable" [ "$pu4" -eq "$N_CLOSED" ]
    check "link type LINUX_SLL2 (276)" [ "$(od -An -tu4 -j20 -N4 "$OUT/dns-closed-any.pcap" | tr -d ' ')" = 276 ]
}

# 6: the resolver answers, is stopped, errors come, it is started again.
# The stop and the restart follow the client's own log (after the answer to
# lookup RESTART_DOWN, after the refusal of lookup RESTART_UP), so the
# number of errors does not depend on how fast Python starts.
sc_dns-restart() {
    topo_lan "$RS_CLI" "$RS_SRV"
    capture pm-c vc "$WORK/dns-restart.pcap"
    local total clog=$WORK/restart.client.log
    total=$(awk -v n="$N_RESTART" -v i="$IV_RESTART" 'BEGIN{print int(n*i+5)}')
    dnsd pm-s "$total" --bind "$RS_SRV" --port 53
    local first=$DNSD_PID
    # the second resolver is started now and binds when told to
    local go=$WORK/restart.go ready2=$WORK/restart.ready
    bg pm-s "$total" "$PY" "$TOOLS/dnsd.py" --duration "$total" \
        --a "$ANS_A" --aaaa "$ANS_AAAA" --mx "$ANS_MX" \
        --start-file "$go" --ready-file "$ready2" --bind "$RS_SRV" --port 53
    local second=$BG_PID
    dnsq pm-c --server "$RS_SRV" "${QA_MAIN[@]}" --count "$N_RESTART" \
        --interval "$IV_RESTART" --timeout 0.15 --attempts 1 2>"$clog" &
    local cli=$!; PIDS+=("$cli")
    wait_file "$clog" "#$RESTART_DOWN .*answer from"
    stop_pid "$first"                               # resolver stopped
    wait_file "$clog" "#$RESTART_UP .*refused"
    : >"$go"; wait_file "$ready2"                   # and started again
    wait "$cli" || true
    cat "$clog" >&2
    settle; stop_pid "$second"; cap_stop "$CAP_PID"
    publish dns-restart.pcap
    labels dns-restart service-restarted "$RS_SRV" 53
    local f=$OUT/dns-restart.pcap n=$((RESTART_UP - RESTART_DOWN))
    local ans=$((N_RESTART - n))
    read -r pu4 _ < <(counts "$f")
    local seq
    seq=$(tshark -r "$f" -T fields -e frame.number -Y "(icmp.type==3) || (ip.src==$RS_SRV && udp.srcport==53)" 2>/dev/null | wc -l)
    local pattern
    pattern=$(tshark -r "$f" -Y "(icmp.type==3) || (ip.src==$RS_SRV && udp.srcport==53)" \
        -T fields -e icmp.type 2>/dev/null | awk '{ c = ($1 == "3") ? "E" : "A"; if (c != last) printf "%s", c; last = c } END { print "" }')
    check "$((RESTART_DOWN + 1)) answers, $n errors, $((N_RESTART - RESTART_UP - 1)) answers (pattern $pattern)" \
        [ "$pu4" -eq "$n" -a "$pattern" = AEA -a "$seq" -eq "$N_RESTART" ]
}

# 7: the resolver runs on ALTPORT; the client asks port 53 first, then ALTPORT
sc_dns-wrong-port() {
    topo_lan "$WP_CLI" "$WP_SRV"
    capture pm-c vc "$WORK/dns-wrong-port.pcap"
    dnsd pm-s 20 --bind "$WP_SRV" --port "$ALTPORT"
    dnsq pm-c --server "$WP_SRV:53" --server "$WP_SRV:$ALTPORT" "${QA_MAIN[@]}" \
        --count "$N_WPORT" --interval "$IV_WPORT" --timeout 1 --attempts 1
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish dns-wrong-port.pcap
    labels dns-wrong-port wrong-port "$WP_SRV" 53
    local f=$OUT/dns-wrong-port.pcap ans
    read -r pu4 _ < <(counts "$f")
    ans=$(tshark -r "$f" -Y "ip.src==$WP_SRV && udp.srcport==$ALTPORT && !icmp" 2>/dev/null | wc -l)
    check "$N_WPORT refused on 53, $N_WPORT answered on $ALTPORT" [ "$pu4" -eq "$N_WPORT" -a "$ans" -eq "$N_WPORT" ]
}

# 8: two nameservers; WH_SRV answers, WH_DOWN has nothing on 53; the client
# rotates between them (resolv.conf "options rotate")
sc_dns-wrong-host() {
    topo_lan3 "$WH_CLI" "$WH_SRV" "$WH_DOWN"
    capture pm-c vc "$WORK/dns-wrong-host.pcap"
    dnsd pm-s 20 --bind "$WH_SRV" --port 53
    dnsq pm-c --server "$WH_SRV" --server "$WH_DOWN" --rotate "${QA_MAIN[@]}" \
        --count "$N_WHOST" --interval "$IV_WHOST" --timeout 1 --attempts 1
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish dns-wrong-host.pcap
    labels dns-wrong-host wrong-host "$WH_DOWN" 53
    local f=$OUT/dns-wrong-host.pcap bad good
    bad=$(tshark -r "$f" -Y "icmp.type==3 && icmp.code==3 && ip.src==$WH_DOWN" 2>/dev/null | wc -l)
    good=$(tshark -r "$f" -Y "ip.src==$WH_SRV && udp.srcport==53 && !icmp" 2>/dev/null | wc -l)
    check "$((N_WHOST / 2)) refused by $WH_DOWN, $N_WHOST answered by $WH_SRV" \
        [ "$bad" -eq $((N_WHOST / 2)) -a "$good" -eq "$N_WHOST" ]
}

# 9: the resolver answers after LATE_DELAY s; the client gives up on each
# try after LATE_TIMEOUT s, closes the socket and retries from a new port;
# every answer hits a closed port and the CLIENT sends port unreachable
sc_dns-late-reply() {
    topo_lan "$LR_CLI" "$LR_SRV"
    capture pm-c vc "$WORK/dns-late-reply.pcap"
    dnsd pm-s 20 --bind "$LR_SRV" --port 53 --delay "$LATE_DELAY"
    dnsq pm-c --server "$LR_SRV" "${QA_ALT[@]}" --count "$N_LATE" \
        --interval "$IV_LATE" --timeout "$LATE_TIMEOUT" --attempts "$LATE_TRIES"
    sleep "$(awk -v d="$LATE_DELAY" -v t="$LATE_TIMEOUT" 'BEGIN{x=d-t; print (x>0?x:0)+0.3}')"
    stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish dns-late-reply.pcap
    labels dns-late-reply late-reply "$LR_SRV" 53
    local f=$OUT/dns-late-reply.pcap n=$((N_LATE * LATE_TRIES)) late
    late=$(tshark -r "$f" -Y "icmp.type==3 && icmp.code==3 && ip.src==$LR_CLI && udp.srcport==53" 2>/dev/null | wc -l)
    check "$n late answers, $n port unreachable from the client $LR_CLI" [ "$late" -eq "$n" ]
}

# 10: traceroute through a router to a host; time exceeded from the router,
# port unreachable from the target
sc_traceroute() {
    topo_routed "$TR_CLI" "$TR_TGT"
    capture pm-c vc "$WORK/traceroute.pcap"
    timeout 20 ip netns exec pm-c traceroute "${TR_ARGS[@]}" "$TR_TGT" >&2
    settle; cap_stop "$CAP_PID"
    publish traceroute.pcap
    labels traceroute traceroute "$TR_TGT" 33434
    read -r pu4 _ te4 _ < <(counts "$OUT/traceroute.pcap")
    check "time exceeded ($te4) and port unreachable ($pu4)" [ "$te4" -ge 1 -a "$pu4" -ge 1 ]
}

# 11: nmap UDP scan of a host that has one port open.  The open port is a
# sink that never answers (discard / syslog): an answer would go to nmap's
# raw-socket source port and the scanner's own kernel would send a port
# unreachable about it, which looks like a late reply and muddles the labels.
# -r (ports in order) and -g (a fixed source port) make two recordings match.
sc_udp-scan() {
    topo_onlink "$SCAN_SRC" "$SCAN_DST"
    capture pm-c vc "$WORK/udp-scan.pcap"
    dnsd pm-s 60 --bind "$SCAN_DST" --port "$SCAN_OPEN" --silent
    timeout 60 ip netns exec pm-c nmap -n -Pn -sU -T4 --max-retries 0 --max-rate 300 \
        -r -g "$SCAN_SPORT" --host-timeout 30s -p "$SCAN_PORTS" "$SCAN_DST" >&2
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish udp-scan.pcap
    labels udp-scan udp-scan "$SCAN_DST" "$SCAN_LOW"
    local nports=$(( ${SCAN_PORTS#*-} - ${SCAN_PORTS%-*} + 1 ))
    read -r pu4 _ < <(counts "$OUT/udp-scan.pcap")
    local fromscanner
    fromscanner=$(tshark -r "$OUT/udp-scan.pcap" -Y "icmp && eth.src==$(mac "$SCAN_SRC")" 2>/dev/null | wc -l)
    check "$nports ports probed, $pu4 port unreachable (>= 10), none from the scanner" \
        [ "$pu4" -ge 10 -a "$fromscanner" -eq 0 ]
}

# 12: the server listens, a router on the way rejects UDP/53 with ICMP port
# unreachable (iptables REJECT, or nft where iptables is missing)
sc_firewall-reject() {
    topo_routed "$FW_CLI" "$FW_SRV"
    if command -v iptables >/dev/null 2>&1; then
        ip netns exec pm-r iptables -A FORWARD -p udp --dport 53 -j REJECT
    else
        ip netns exec pm-r nft -f - <<'EOF'
table ip pm { chain fwd { type filter hook forward priority 0; udp dport 53 reject with icmp type port-unreachable; } }
EOF
    fi
    capture pm-c vc "$WORK/firewall-reject.pcap"
    dnsd pm-s 20 --bind "$FW_SRV" --port 53
    dnsq pm-c --server "$FW_SRV" "${QA_MAIN[@]}" --count "$N_FW" \
        --interval "$IV_FW" --timeout 1 --attempts "$FW_TRIES"
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish firewall-reject.pcap
    labels firewall-reject firewall-reject "$FW_SRV" 53
    local f=$OUT/firewall-reject.pcap n=$((N_FW * FW_TRIES)) fromgw
    fromgw=$(tshark -r "$f" -Y "icmp.type==3 && icmp.code==3 && ip.src==$RT_GW" 2>/dev/null | wc -l)
    check "$n port unreachable, all from the router $RT_GW" [ "$fromgw" -eq "$n" ]
}

# 13: a burst of queries to a closed port; the server keeps Linux's default
# ICMP rate limit, so most queries get no error at all
sc_rate-limited() {
    ns_add pm-c; ns_add pm-s icmp-limits
    veth pm-c vc "$(mac "$RL_CLI")" pm-s vs "$(mac "$RL_SRV")"
    ip -n pm-c addr add "$RL_CLI/$LAN4" dev vc
    ip -n pm-s addr add "$RL_SRV/$LAN4" dev vs
    capture pm-c vc "$WORK/rate-limited.pcap"
    dnsq pm-c --server "$RL_SRV" "${QA_MAIN[@]}" --count "$N_RL" \
        --interval "$IV_RL" --timeout 1 --attempts 1 --quiet
    settle; cap_stop "$CAP_PID"
    publish rate-limited.pcap
    labels rate-limited service-down "$RL_SRV" 53 rate-limited
    read -r pu4 _ _ _ _ udp _ < <(counts "$OUT/rate-limited.pcap")
    check "$udp queries, only $pu4 port unreachable" [ "$udp" -eq "$N_RL" -a "$pu4" -ge 1 -a $((pu4 * 4)) -le "$udp" ]
}

# ----------------------------------------------------------------- main ---
mkdir -p "$OUT/expected" "$FMT/expected" "$WORK/formats"
# Outputs of earlier layouts: format copies at the top level (now in
# formats/), .tshark listings (now .ref), labels of the nanosecond copy.
rm -f "$OUT/dns-closed-v4-ns.pcap" "$OUT/dns-closed-v4.pcapng" \
    "$OUT/dns-closed-v4.pcap.gz" "$OUT/dns-closed-v6.pcap.zst" \
    "$OUT/expected/dns-closed-v4-ns.labels" "$OUT"/expected/*.tshark
log "record.sh: $PROFILE set -> $OUT"
teardown            # leftovers of an interrupted run
i=0
for sc in "${SCENARIOS[@]}"; do
    i=$((i + 1))
    wanted "$sc" || continue
    SC_SEED=$((SEED * 100 + i))
    log "== $sc"
    "sc_$sc"
    teardown
done
log "record.sh: done in $(( $(date +%s) - T_START )) s, $FAILS check(s) failed"
[ "$FAILS" -eq 0 ]

#!/usr/bin/env bash
# samples/record.sh — record portmortem's real sample captures.
#
# Every scenario runs in fresh Linux network namespaces (pm-c client, pm-c2
# second client, pm-s server, pm-s2 second server, pm-r router or load
# balancer, pm-sw switch), joined by veth pairs, with real kernels answering:
# the ICMP port unreachable messages in the captures are the ones Linux sends.  Traffic stays between those
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
# whose findings are the union of the scenarios' expected/*.labels.  Copies
# of the same packets in other file formats go to formats/, and the two
# capture points of one outage to twopoint/ (analysing them with the rest
# would count the same packets twice).
#
# Needs root.  Takes three to four minutes.  Overwrites its outputs; deletes
# its namespaces on exit, whatever happens.
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
           traceroute udp-scan firewall-reject rate-limited
           media-hangup dns-parallel inbound-unsolicited reflection-victim
           nmap-ratelimit dns-reject-one dns-stops dns-intermittent twopoint)

usage() {
    sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
need nft nftables
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
    MH_CALLER=192.0.2.141; MH_CALLEE=192.0.2.142   # media-hangup
    DP_CLI=192.0.2.144;  DP_FAST=192.0.2.145; DP_SLOW=192.0.2.146  # dns-parallel
    UN_HOST=192.0.2.150                            # inbound-unsolicited
    UN_SRC=(203.0.113.201 203.0.113.202 203.0.113.203 203.0.113.204)
    RF_VICTIM=192.0.2.155; RF_SOURCES=203.0.113.1-40  # reflection-victim
    NR_SRC=198.51.100.170; NR_DST=192.0.2.170      # nmap-ratelimit
    RJ_SRV=192.0.2.175;  RJ_A=192.0.2.176; RJ_B=192.0.2.177  # dns-reject-one
    ST_SRV=192.0.2.180;  ST_CLI=192.0.2.181        # dns-stops
    IN_VIP=192.0.2.185;  IN_A=192.0.2.186; IN_B=192.0.2.187  # dns-intermittent
    IN_LB=198.51.100.185; IN_BE1=198.51.100.186; IN_BE2=198.51.100.187
    TP_SRV=192.0.2.190;  TP_CLI=192.0.2.191        # twopoint
    # The Internet behind the router (inbound-unsolicited, reflection-victim):
    # INET_NET is routed to INET_HOP, a host on the router's far side.
    INET_HOP=198.51.100.254; INET_NET=203.0.113.0/24
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
    MH_CPORT=40002; MH_RPORT=5004; MH_DUR=3; MH_TAIL=15
    N_DP=8;      IV_DP=0.5; DP_DELAY=0.1
    UN_SPORTS=(1030 1033 2157 6881); UN_DPORTS=(1026 1027 1434 6881)
    UN_KINDS=(messenger messenger slammer dht)
    RF_PER=2;    IV_RF=0.025; RF_SPORT=161
    NR_PORTS=1000-1021; NR_LOW=1000; NR_SPORT=53211
    N_RJ=8;      IV_RJ=0.3
    N_ST=16;     IV_ST=0.25; ST_UP=10
    N_IN=40;     IV_IN=0.2; IN_MOD=13
    N_TP=6;      IV_TP=0.25
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
    MH_CALLER=198.51.100.141; MH_CALLEE=198.51.100.142
    DP_CLI=198.51.100.144;   DP_FAST=198.51.100.145; DP_SLOW=198.51.100.146
    UN_HOST=198.51.100.150
    UN_SRC=(192.0.2.201 192.0.2.202 192.0.2.203 192.0.2.204)
    RF_VICTIM=198.51.100.155; RF_SOURCES=192.0.2.101-136
    NR_SRC=192.0.2.170;      NR_DST=198.51.100.170
    RJ_SRV=198.51.100.175;   RJ_A=198.51.100.176; RJ_B=198.51.100.177
    ST_SRV=198.51.100.180;   ST_CLI=198.51.100.181
    IN_VIP=198.51.100.185;   IN_A=198.51.100.186; IN_B=198.51.100.187
    IN_LB=203.0.113.185;     IN_BE1=203.0.113.186; IN_BE2=203.0.113.187
    TP_SRV=198.51.100.190;   TP_CLI=198.51.100.191
    INET_HOP=203.0.113.254;  INET_NET=192.0.2.0/24
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
    MH_CPORT=41234; MH_RPORT=16384; MH_DUR=2.5; MH_TAIL=12
    N_DP=7;      IV_DP=0.4; DP_DELAY=0.07
    UN_SPORTS=(1025 4823 3362 51413); UN_DPORTS=(1028 1029 1434 51413)
    UN_KINDS=(messenger messenger slammer dht)
    RF_PER=2;    IV_RF=0.02; RF_SPORT=161
    NR_PORTS=3000-3024; NR_LOW=3000; NR_SPORT=40123
    N_RJ=7;      IV_RJ=0.35
    N_ST=15;     IV_ST=0.2; ST_UP=8
    N_IN=45;     IV_IN=0.15; IN_MOD=11
    N_TP=5;      IV_TP=0.2
    EDNS=(--edns)
fi
# No address serves two scenarios of a set (the routers are shared on purpose).
dup=$(printf '%s\n' "$V4_CLI" "$V4_SRV" "$V6_CLI" "$V6_SRV" "$VL_CLI" "$VL_SRV" \
    "$ANY_CLI" "$ANY_SRV" "$RS_CLI" "$RS_SRV" "$WP_CLI" "$WP_SRV" "$WH_CLI" \
    "$WH_SRV" "$WH_DOWN" "$LR_CLI" "$LR_SRV" "$TR_CLI" "$TR_TGT" "$FW_CLI" \
    "$FW_SRV" "$RL_CLI" "$RL_SRV" "$RT_GW" "$RT_GW2" "$SCAN_SRC" "$SCAN_DST" \
    "$MH_CALLER" "$MH_CALLEE" "$DP_CLI" "$DP_FAST" "$DP_SLOW" "$UN_HOST" \
    "${UN_SRC[@]}" "$RF_VICTIM" "$NR_SRC" "$NR_DST" "$RJ_SRV" "$RJ_A" "$RJ_B" \
    "$ST_SRV" "$ST_CLI" "$IN_VIP" "$IN_A" "$IN_B" "$IN_LB" "$IN_BE1" "$IN_BE2" \
    "$TP_SRV" "$TP_CLI" "$INET_HOP" \
    $("$PY" -c 'import sys; b, _, l = sys.argv[1].partition("-")
p, f = b.rsplit(".", 1); print(" ".join("%s.%d" % (p, n) for n in range(int(f), int(l or f) + 1)))' "$RF_SOURCES") \
    | sort | uniq -d)
if [ -n "$dup" ]; then
    echo "record.sh: address used twice in the $PROFILE profile: $dup" >&2
    exit 2
fi
FMT=$OUT/formats        # other-format copies of the same captures
REF=$ROOT/tests/tools/tshark-ref.sh

# --------------------------------------------------------- housekeeping ---
NAMESPACES=(pm-c pm-c2 pm-s pm-s2 pm-r pm-sw)
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

# topo_switch NS:ADDR... : each NS gets an interface "v" with ADDR (in LAN4),
# all on one switch (a bridge in pm-sw, ports p0, p1, ...)
topo_switch() {
    ns_add pm-sw
    ip -n pm-sw link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
    ip -n pm-sw link set br0 up
    local i=0 spec ns addr
    for spec in "$@"; do
        ns=${spec%%:*}; addr=${spec#*:}
        ip netns list | grep -qw "$ns" || ns_add "$ns"
        veth "$ns" v "$(mac "$addr")" pm-sw "p$i" "02:50:4d:00:0f:1$i"
        ip -n pm-sw link set "p$i" master br0
        ip -n "$ns" addr add "$addr/$LAN4" dev v
        i=$((i + 1))
    done
}

# topo_inet HOST [ADDR...]: the host pm-s:vs (HOST in LAN4, default route via
# the router RT_GW) <-> rc:pm-r:rs (RT_GW2) <-> vc:pm-c, "the Internet":
# INET_HOP, default route via RT_GW2, and ADDRs (/32 on its loopback) that
# its sockets may send from.  The router sends INET_NET to INET_HOP.
topo_inet() {
    local host=$1 a; shift
    ns_add pm-s; ns_add pm-r; ns_add pm-c
    veth pm-s vs "$(mac "$host")" pm-r rc "$(mac "$RT_GW")"
    veth pm-r rs "$(mac "$RT_GW2")" pm-c vc "$(mac "$INET_HOP")"
    ip -n pm-s addr add "$host/$LAN4" dev vs
    ip -n pm-r addr add "$RT_GW/24" dev rc
    ip -n pm-r addr add "$RT_GW2/24" dev rs
    ip -n pm-c addr add "$INET_HOP/24" dev vc
    for a in "$@"; do ip -n pm-c addr add "$a/32" dev lo; done
    ip -n pm-s route add default via "$RT_GW"
    ip -n pm-c route add default via "$RT_GW2"
    ip -n pm-r route add "$INET_NET" via "$INET_HOP"
    ip netns exec pm-r sysctl -qw net.ipv4.ip_forward=1
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

# topo_onlink SRC DST [icmp-limits]: two hosts on one link with addresses
# from different prefixes, reaching each other through on-link host routes;
# icmp-limits: the DST host keeps Linux's default ICMP rate limits
topo_onlink() {
    ns_add pm-c; ns_add pm-s ${3:-}
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

# labels NAME DIAGNOSIS IP PORT [SECONDARY] : expected/NAME.labels holds
# this one finding.  NAME may be DIR/NAME (DIR/expected/NAME.labels).
labels_file() {
    case "$1" in
        */*) printf '%s/%s/expected/%s.labels\n' "$OUT" "${1%/*}" "${1##*/}" ;;
        *)   printf '%s/expected/%s.labels\n' "$OUT" "$1" ;;
    esac
}
labels() {
    printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "${5:--}" >"$(labels_file "$1")"
}
# labels_add NAME DIAGNOSIS IP PORT [SECONDARY] : one more finding (kept sorted)
labels_add() {
    local f; f=$(labels_file "$1")
    { if [ -f "$f" ]; then cat "$f"; fi; printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "${5:--}"; } \
        | sort -u >"$f.tmp"
    mv -f "$f.tmp" "$f"
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
        # ("fwd" is an nft keyword: it cannot name the chain)
        ip netns exec pm-r nft -f - <<'EOF'
table ip pm {
    chain fw {
        type filter hook forward priority filter; policy accept;
        udp dport 53 reject with icmp type port-unreachable
    }
}
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

# ------------------------------------------------ scenarios (SPEC §6, new) ---

# pattern FILE FILTER EXPR : the run-length pattern of FILTER's frames in
# FILE, one letter per run ("E" where EXPR (an awk test on icmp.type) holds,
# else "A"), e.g. AEA
pattern() {
    tshark -r "$1" -Y "$2" -T fields -e icmp.type 2>/dev/null |
        awk '{ c = ($1 == "3") ? "E" : "A"; if (c != last) printf "%s", c; last = c } END { print "" }'
}

# n_frames FILE FILTER : number of frames that match the display filter
n_frames() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# 14: a call's media outlives the caller's socket.  The caller streams RTP
# (PCMU, 20 ms) to the callee's port MH_RPORT, the callee streams back to the
# caller's MH_CPORT (symmetric RTP), for MH_DUR s; the caller hangs up (closes
# its socket right after its last packet); the callee keeps sending until it
# has sent MH_TAIL packets without hearing the caller (300 ms): the caller's
# kernel refuses those.  Captured on the caller's side.
sc_media-hangup() {
    topo_lan "$MH_CALLER" "$MH_CALLEE"
    capture pm-c vc "$WORK/media-hangup.pcap"
    local ready=$WORK/rtp.ready
    bg pm-s 20 "$PY" "$TOOLS/rtp.py" callee --bind "$MH_CALLEE" --port "$MH_RPORT" \
        --tail "$MH_TAIL" --seed "$SC_SEED" --ready-file "$ready" --max-time 15
    local callee=$BG_PID
    wait_file "$ready"
    timeout 20 ip netns exec pm-c "$PY" "$TOOLS/rtp.py" caller --bind "$MH_CALLER" \
        --port "$MH_CPORT" --to "$MH_CALLEE:$MH_RPORT" --duration "$MH_DUR" \
        --seed "$SC_SEED" --max-time 15
    wait "$callee" || true
    settle; cap_stop "$CAP_PID"
    publish media-hangup.pcap
    labels media-hangup stream-ended "$MH_CALLEE" "$MH_RPORT"
    local f=$OUT/media-hangup.pcap up down errs last_up first_err
    up=$(n_frames "$f" "ip.src==$MH_CALLER && udp.srcport==$MH_CPORT && udp.dstport==$MH_RPORT && !icmp")
    down=$(n_frames "$f" "ip.src==$MH_CALLEE && udp.srcport==$MH_RPORT && udp.dstport==$MH_CPORT && !icmp")
    errs=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$MH_CALLER && udp.srcport==$MH_RPORT && udp.dstport==$MH_CPORT")
    last_up=$(tshark -r "$f" -Y "ip.src==$MH_CALLER && udp && !icmp" -T fields -e frame.number 2>/dev/null | tail -1)
    first_err=$(tshark -r "$f" -Y "icmp" -T fields -e frame.number 2>/dev/null | head -1)
    check "RTP both ways ($up caller->callee, $down callee->caller), $errs refused by the caller after its last packet" \
        [ "$up" -ge 100 -a "$down" -ge 100 -a "$errs" -eq "$MH_TAIL" \
          -a "${first_err:-0}" -gt "${last_up:-0}" ]
    check "every error is about the callee's media port" \
        [ "$errs" -eq "$(n_frames "$f" icmp)" ]
}

# 15: a client asks two resolvers at once (one socket, one source port, the
# same query to both) and takes the first answer: DP_FAST answers at once,
# DP_SLOW after DP_DELAY s, by then the client has closed the socket and its
# kernel refuses the slow answer.  No timeout, no retry.
sc_dns-parallel() {
    topo_switch "pm-c:$DP_CLI" "pm-s:$DP_FAST" "pm-s2:$DP_SLOW"
    capture pm-c v "$WORK/dns-parallel.pcap"
    dnsd pm-s 20 --bind "$DP_FAST" --port 53
    local fast=$DNSD_PID
    dnsd pm-s2 20 --bind "$DP_SLOW" --port 53 --delay "$DP_DELAY"
    local slow=$DNSD_PID
    dnsq pm-c --server "$DP_FAST" --server "$DP_SLOW" --parallel "${QA_MAIN[@]}" \
        --count "$N_DP" --interval "$IV_DP" --timeout 1 --attempts 1
    sleep "$DP_DELAY"
    settle; stop_pid "$fast"; stop_pid "$slow"; cap_stop "$CAP_PID"
    publish dns-parallel.pcap
    labels dns-parallel duplicate-reply "$DP_SLOW" 53
    local f=$OUT/dns-parallel.pcap qa qb aa ab eb ea
    qa=$(n_frames "$f" "ip.dst==$DP_FAST && udp.dstport==53 && !icmp")
    qb=$(n_frames "$f" "ip.dst==$DP_SLOW && udp.dstport==53 && !icmp")
    aa=$(n_frames "$f" "ip.src==$DP_FAST && udp.srcport==53 && !icmp")
    ab=$(n_frames "$f" "ip.src==$DP_SLOW && udp.srcport==53 && !icmp")
    eb=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$DP_CLI && ip.src==$DP_SLOW")
    ea=$(n_frames "$f" "icmp.type==3 && ip.src==$DP_FAST")
    check "$qa + $qb queries, $aa + $ab answers, $eb slow answers refused by the client, $ea fast ones" \
        [ "$qa" -eq "$N_DP" -a "$qb" -eq "$N_DP" -a "$aa" -eq "$N_DP" -a "$ab" -eq "$N_DP" \
          -a "$eb" -eq "$N_DP" -a "$ea" -eq 0 ]
}

# 16: single datagrams from Internet hosts the host never talked to, to its
# closed ports: Messenger spam (DCE/RPC) to two ports, a Slammer-shaped
# datagram to 1434, a stray DHT ping.  The host sits behind the router; it
# answers each with a port unreachable and sends no UDP itself.
sc_inbound-unsolicited() {
    topo_inet "$UN_HOST" "${UN_SRC[@]}"
    capture pm-s vs "$WORK/inbound-unsolicited.pcap"
    local i shots=()
    for i in "${!UN_SRC[@]}"; do
        shots+=(--shot "${UN_SRC[$i]}:${UN_SPORTS[$i]},$UN_HOST:${UN_DPORTS[$i]},${UN_KINDS[$i]}")
    done
    timeout 20 ip netns exec pm-c "$PY" "$TOOLS/shots.py" --seed "$SC_SEED" \
        --interval 0.25 "${shots[@]}"
    settle; cap_stop "$CAP_PID"
    publish inbound-unsolicited.pcap
    rm -f "$(labels_file inbound-unsolicited)"
    for i in "${!UN_SRC[@]}"; do
        labels_add inbound-unsolicited unsolicited "$UN_HOST" "${UN_DPORTS[$i]}"
    done
    local f=$OUT/inbound-unsolicited.pcap n=${#UN_SRC[@]} dg errs out senders
    dg=$(n_frames "$f" "ip.dst==$UN_HOST && udp && !icmp")
    errs=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$UN_HOST")
    out=$(n_frames "$f" "ip.src==$UN_HOST && udp && !icmp")
    senders=$(tshark -r "$f" -Y "ip.dst==$UN_HOST && udp && !icmp" -T fields -e ip.src 2>/dev/null | sort -u | wc -l)
    check "$dg datagrams from $senders senders, $errs refused, $out sent by the host" \
        [ "$dg" -eq "$n" -a "$senders" -eq "$n" -a "$errs" -eq "$n" -a "$out" -eq 0 ]
}

# 17: reflection DDoS seen from the victim: SNMP GetResponses from port 161
# of many spoofed sources (raw socket in the "Internet" namespace, routed
# through the router) to random closed ports of the victim; the victim
# (rate limit off) refuses every one.  It never sent anything to port 161.
sc_reflection-victim() {
    topo_inet "$RF_VICTIM"
    capture pm-s vs "$WORK/reflection-victim.pcap"
    timeout 30 ip netns exec pm-c "$PY" "$TOOLS/reflect.py" --victim "$RF_VICTIM" \
        --sources "$RF_SOURCES" --sport "$RF_SPORT" --per-source "$RF_PER" \
        --interval "$IV_RF" --seed "$SC_SEED"
    settle; cap_stop "$CAP_PID"
    publish reflection-victim.pcap
    labels reflection-victim reflection "$RF_VICTIM" "$RF_SPORT"
    local f=$OUT/reflection-victim.pcap dg srcs errs out
    dg=$(n_frames "$f" "ip.dst==$RF_VICTIM && udp.srcport==$RF_SPORT && !icmp")
    srcs=$(tshark -r "$f" -Y "ip.dst==$RF_VICTIM && udp.srcport==$RF_SPORT && !icmp" -T fields -e ip.src 2>/dev/null | sort -u | wc -l)
    errs=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$RF_VICTIM && udp.srcport==$RF_SPORT")
    out=$(n_frames "$f" "ip.src==$RF_VICTIM && udp && !icmp")
    check "$dg datagrams from port $RF_SPORT of $srcs sources, $errs refused, $out sent by the victim" \
        [ "$srcs" -ge 20 -a "$errs" -eq "$dg" -a "$dg" -ge 40 -a "$out" -eq 0 ]
}

# 18: nmap UDP scan of a host that keeps Linux's default ICMP rate limit
# (burst 6, then 1 per second): most probes get no error back.
sc_nmap-ratelimit() {
    topo_onlink "$NR_SRC" "$NR_DST" icmp-limits
    capture pm-c vc "$WORK/nmap-ratelimit.pcap"
    timeout 60 ip netns exec pm-c nmap -n -Pn -sU -T4 --max-retries 0 --max-rate 10 \
        -r -g "$NR_SPORT" --host-timeout 20s -p "$NR_PORTS" "$NR_DST" >&2
    settle; cap_stop "$CAP_PID"
    publish nmap-ratelimit.pcap
    labels nmap-ratelimit udp-scan "$NR_DST" "$NR_LOW"
    local f=$OUT/nmap-ratelimit.pcap probed refused want
    want=$(( ${NR_PORTS#*-} - ${NR_PORTS%-*} + 1 ))
    probed=$(tshark -r "$f" -Y "ip.src==$NR_SRC && udp && !icmp" -T fields -e udp.dstport 2>/dev/null | sort -u | wc -l)
    refused=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$NR_DST")
    log "    nmap-ratelimit: $probed ports probed, $refused refused"
    check "$probed ports probed (of $want), $refused refused (1..9: the rate limit)" \
        [ "$probed" -eq "$want" -a "$refused" -ge 1 -a "$refused" -lt 10 ]
}

# 19: a host firewall refuses one client: the DNS server's own nftables
# rejects RJ_B's queries (nft's default reject for UDP: port unreachable,
# like iptables -j REJECT) and answers RJ_A's in between.  Captured on the
# server.
sc_dns-reject-one() {
    topo_switch "pm-s:$RJ_SRV" "pm-c:$RJ_A" "pm-c2:$RJ_B"
    ip netns exec pm-s nft -f - <<NFT
table ip pm {
    chain in {
        type filter hook input priority filter; policy accept;
        ip saddr $RJ_B udp dport 53 reject
    }
}
NFT
    capture pm-s v "$WORK/dns-reject-one.pcap"
    dnsd pm-s 20 --bind "$RJ_SRV" --port 53
    local half
    half=$(awk -v i="$IV_RJ" 'BEGIN{print i/2}')
    dnsq pm-c --server "$RJ_SRV" "${QA_MAIN[@]}" --count "$N_RJ" --interval "$IV_RJ" \
        --timeout 1 --attempts 1 &
    local a=$!; PIDS+=("$a")
    sleep "$half"
    dnsq pm-c2 --seed $((SC_SEED * 10 + 1)) --server "$RJ_SRV" "${QA_ALT[@]}" \
        --count "$N_RJ" --interval "$IV_RJ" --timeout 1 --attempts 1
    wait "$a" || true
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish dns-reject-one.pcap
    labels dns-reject-one firewall-reject "$RJ_SRV" 53
    local f=$OUT/dns-reject-one.pcap ans errs p
    ans=$(n_frames "$f" "ip.src==$RJ_SRV && ip.dst==$RJ_A && udp.srcport==53 && !icmp")
    errs=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$RJ_SRV && ip.dst==$RJ_B")
    p=$(pattern "$f" "icmp.type==3 || (ip.src==$RJ_SRV && udp.srcport==53)")
    check "$ans answers to $RJ_A, $errs refusals of $RJ_B, interleaved ($p)" \
        [ "$ans" -eq "$N_RJ" -a "$errs" -eq "$N_RJ" -a "${#p}" -ge $((2 * N_RJ - 1)) ]
}

# 20: the resolver answers ST_UP lookups and then dies for good; the client
# keeps asking and every later query is refused.  The resolver process exits
# right after sending its ST_UP-th answer (dnsd --max-replies, like a crash:
# its socket is gone microseconds later), so the count does not depend on
# how loaded the machine is; the script then kills whatever is left of it.
sc_dns-stops() {
    topo_lan "$ST_CLI" "$ST_SRV"
    capture pm-c vc "$WORK/dns-stops.pcap"
    dnsd pm-s 20 --bind "$ST_SRV" --port 53 --max-replies "$ST_UP"
    dnsq pm-c --server "$ST_SRV" "${QA_MAIN[@]}" --count "$N_ST" --interval "$IV_ST" \
        --timeout 0.2 --attempts 1
    stop_pid "$DNSD_PID"
    settle; cap_stop "$CAP_PID"
    publish dns-stops.pcap
    labels dns-stops service-down "$ST_SRV" 53
    local f=$OUT/dns-stops.pcap ans errs p
    ans=$(n_frames "$f" "ip.src==$ST_SRV && udp.srcport==53 && !icmp")
    read -r errs _ < <(counts "$f")
    p=$(pattern "$f" "icmp.type==3 || (ip.src==$ST_SRV && udp.srcport==53)")
    check "$ans answers, then $errs refused (pattern $p)" \
        [ "$ans" -eq "$ST_UP" -a "$errs" -eq $((N_ST - ST_UP)) -a "$p" = AE ]
}

# 21: a resolver address that is a load balancer (pm-r, nftables DNAT of
# IN_VIP:53, round robin over new flows: numgen inc mod IN_MOD) in front of
# two backends: IN_BE1 answers, IN_BE2 has nothing on 53, and gets 1 flow in
# IN_MOD.  Its port unreachable is translated back by conntrack (source and
# quoted destination become the VIP).  Two clients query alternately; every
# query is a new flow (new source port).  Captured on the balancer's front
# interface, so both clients are seen.
sc_dns-intermittent() {
    ns_add pm-r
    topo_switch "pm-r:$IN_VIP" "pm-c:$IN_A" "pm-c2:$IN_B"
    ns_add pm-s
    veth pm-r rb "$(mac "$IN_LB")" pm-s vs "$(mac "$IN_BE1")"
    ip -n pm-r addr add "$IN_LB/24" dev rb
    ip -n pm-s addr add "$IN_BE1/24" dev vs
    ip -n pm-s addr add "$IN_BE2/24" dev vs
    ip -n pm-s route add default via "$IN_LB"
    ip netns exec pm-r sysctl -qw net.ipv4.ip_forward=1
    # The balancer learnt the clients' MACs from their ARP requests (STALE),
    # so 5 s into the capture it would probe them again, at a time that
    # varies by a few queries from run to run and shifts the frame numbers
    # of the .ref.  Put that probe after the end of the capture.
    ip netns exec pm-r sysctl -qw net.ipv4.neigh.v.delay_first_probe_time=60
    ip netns exec pm-r nft -f - <<NFT
table ip lb {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr $IN_VIP udp dport 53 dnat to numgen inc mod $IN_MOD map { 0-$((IN_MOD - 2)) : $IN_BE1, $((IN_MOD - 1)) : $IN_BE2 }
    }
}
NFT
    capture pm-r v "$WORK/dns-intermittent.pcap"
    dnsd pm-s 40 --bind "$IN_BE1" --port 53 --quiet
    local half
    half=$(awk -v i="$IV_IN" 'BEGIN{print i/2}')
    dnsq pm-c --server "$IN_VIP" "${QA_MAIN[@]}" --count "$N_IN" --interval "$IV_IN" \
        --timeout 1 --attempts 1 --quiet &
    local a=$!; PIDS+=("$a")
    sleep "$half"
    dnsq pm-c2 --seed $((SC_SEED * 10 + 1)) --server "$IN_VIP" "${QA_ALT[@]}" \
        --count "$N_IN" --interval "$IV_IN" --timeout 1 --attempts 1 --quiet
    wait "$a" || true
    settle; stop_pid "$DNSD_PID"; cap_stop "$CAP_PID"
    publish dns-intermittent.pcap
    labels dns-intermittent intermittent "$IN_VIP" 53
    local f=$OUT/dns-intermittent.pcap q ans errs want pa pb
    q=$(n_frames "$f" "ip.dst==$IN_VIP && udp.dstport==53 && !icmp")
    ans=$(n_frames "$f" "ip.src==$IN_VIP && udp.srcport==53 && !icmp")
    errs=$(n_frames "$f" "icmp.type==3 && icmp.code==3 && ip.src==$IN_VIP && ip.dst==$IN_VIP")
    want=$(( 2 * N_IN / IN_MOD ))
    pa=$(pattern "$f" "ip.dst==$IN_A && (icmp.type==3 || (ip.src==$IN_VIP && udp.srcport==53))")
    pb=$(pattern "$f" "ip.dst==$IN_B && (icmp.type==3 || (ip.src==$IN_VIP && udp.srcport==53))")
    check "$q queries, $ans answered, $errs refused by the VIP (want $want); $IN_A: $pa, $IN_B: $pb" \
        [ "$q" -eq $((2 * N_IN)) -a "$errs" -eq "$want" -a $((ans + errs)) -eq "$q" \
          -a "${#pa}" -ge 3 -a "${#pb}" -ge 3 ]
    check "no backend address in the capture" \
        [ "$(n_frames "$f" "ip.addr==$IN_BE1 || ip.addr==$IN_BE2")" -eq 0 ]
}

# 22: one outage, two capture points: nothing listens on TP_SRV:53, and
# tcpdump records at the same time in the client's namespace and in the
# server's.  Both files go to twopoint/ (analysing them with the rest would
# count the same errors twice unless the analyzer de-duplicates them).
sc_twopoint() {
    topo_lan "$TP_CLI" "$TP_SRV"
    mkdir -p "$WORK/twopoint" "$OUT/twopoint/expected"
    capture pm-c vc "$WORK/twopoint/twopoint-client.pcap"
    local p1=$CAP_PID
    capture pm-s vs "$WORK/twopoint/twopoint-server.pcap"
    local p2=$CAP_PID
    dnsq pm-c --server "$TP_SRV" "${QA_MAIN[@]}" --count "$N_TP" --interval "$IV_TP" \
        --timeout 1 --attempts 1
    settle; cap_stop "$p1"; cap_stop "$p2"
    publish twopoint/twopoint-client.pcap twopoint/twopoint-server.pcap
    labels twopoint/twopoint-client service-down "$TP_SRV" 53
    labels twopoint/twopoint-server service-down "$TP_SRV" 53
    labels twopoint/twopoint service-down "$TP_SRV" 53    # both files together
    local c s qc qs
    read -r c _ < <(counts "$OUT/twopoint/twopoint-client.pcap")
    read -r s _ < <(counts "$OUT/twopoint/twopoint-server.pcap")
    qc=$(tshark -r "$OUT/twopoint/twopoint-client.pcap" -Y icmp -T fields -e ip.id -e udp.srcport 2>/dev/null | md5sum)
    qs=$(tshark -r "$OUT/twopoint/twopoint-server.pcap" -Y icmp -T fields -e ip.id -e udp.srcport 2>/dev/null | md5sum)
    check "$N_TP queries; $c errors at the client, $s at the server, the same ones" \
        [ "$c" -eq "$N_TP" -a "$s" -eq "$N_TP" -a "$qc" = "$qs" ]
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

-- portmortem database schema (SQLite). Version in PRAGMA user_version; see README "Database".
-- Times are integers: nanoseconds since 1970-01-01 UTC. Addresses are text (inet_ntop form).
-- Every row of a capture is written in the capture's own transaction.

CREATE TABLE IF NOT EXISTS captures (
    id             INTEGER PRIMARY KEY,
    path           TEXT    NOT NULL,          -- as given on the command line ("-" = stdin)
    size           INTEGER,                   -- bytes on disk, NULL for stdin
    content_hash   TEXT    NOT NULL UNIQUE,   -- XXH3-128 of the packets (hex); 'pkt1:HASH' for the
                                              -- packets under the hash of version 2, 'file:HASH'
                                              -- of the file's bytes for captures stored by version 1
    format         TEXT    NOT NULL,          -- pcap, pcapng, pcap.gz, pcapng.zst, ...
    link_type      INTEGER,                   -- LINKTYPE_ number
    link_type_name TEXT,                      -- EN10MB, LINUX_SLL2, RAW, ...
    precision      INTEGER NOT NULL DEFAULT 6,-- 6 = microseconds, 9 = nanoseconds
    snaplen        INTEGER,
    packets        INTEGER NOT NULL DEFAULT 0,-- records read (after --filter)
    bytes          INTEGER NOT NULL DEFAULT 0,-- captured bytes of those records
    udp_packets    INTEGER NOT NULL DEFAULT 0,
    icmp_errors    INTEGER NOT NULL DEFAULT 0,-- ICMP/ICMPv6 destination unreachable, all codes
    port_unreachables INTEGER NOT NULL DEFAULT 0,
    first_ns       INTEGER,                   -- first and last packet time
    last_ns        INTEGER,
    complete       INTEGER NOT NULL DEFAULT 1,-- 0: the file was cut or corrupt (see read_error)
    read_error     TEXT,
    stats_capped   INTEGER NOT NULL DEFAULT 0,-- 1: the endpoint table hit its cap, counts are partial
    filter         TEXT,                      -- the --filter expression used, if any
    sha256         TEXT                       -- SHA-256 of the file as stored (hex), with --sha256 (v3)
);
CREATE INDEX IF NOT EXISTS captures_size ON captures (size);

-- (v5) The files captures were read from: a re-run recognises a file whose path, size,
-- modification time and inode are unchanged without reading it (a changed one is read and
-- identified by its packets again). Written by analyze; merge does not copy it.
CREATE TABLE IF NOT EXISTS capture_files (
    path         TEXT    NOT NULL,            -- absolute, symbolic links resolved
    filter       TEXT    NOT NULL DEFAULT '', -- the --filter it was read with ('' = none)
    size         INTEGER NOT NULL,            -- bytes on disk
    mtime_ns     INTEGER NOT NULL,            -- modification time, ns since the epoch
    inode        INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,            -- the capture it holds (captures.content_hash)
    PRIMARY KEY (path, filter)
) WITHOUT ROWID;

-- Counts of packet anomalies per capture (names are stable: "ipv4.bad_ihl", "quote.truncated").
CREATE TABLE IF NOT EXISTS capture_anomalies (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (capture_id, name)
) WITHOUT ROWID;

-- Every UDP conversation that an ICMP error touched, per capture. The server is the side
-- the error was about (the destination of a refused request, the source of a late reply).
CREATE TABLE IF NOT EXISTS flows (
    id          INTEGER PRIMARY KEY,
    capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    client_ip   TEXT    NOT NULL,
    client_port INTEGER NOT NULL,
    server_ip   TEXT    NOT NULL,
    server_port INTEGER NOT NULL,
    c2s_packets INTEGER NOT NULL DEFAULT 0,   -- datagrams client -> server seen
    c2s_bytes   INTEGER NOT NULL DEFAULT 0,
    s2c_packets INTEGER NOT NULL DEFAULT 0,   -- datagrams server -> client seen
    s2c_bytes   INTEGER NOT NULL DEFAULT 0,
    first_ns    INTEGER,                      -- first and last datagram of the flow
    last_ns     INTEGER,
    errors      INTEGER NOT NULL DEFAULT 0,   -- ICMP errors about this flow
    c2s_last_ns INTEGER,                      -- last datagram client -> server (v2)
    s2c_last_ns INTEGER,                      -- last datagram server -> client (v2)
    UNIQUE (capture_id, client_ip, client_port, server_ip, server_port)
);

-- Every ICMP destination unreachable (v4 type 3, v6 type 1, every code) and time exceeded
-- (v4 type 11, v6 type 3), with everything dissected from it. Which of them are port
-- unreachables: the view event_kinds of db/views.sql (a TEMP view of each connection).
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    frame       INTEGER NOT NULL,             -- 1-based record number in the capture
    ts_ns       INTEGER NOT NULL,
    reporter    TEXT    NOT NULL,             -- source of the ICMP message
    reported_to TEXT    NOT NULL,             -- destination of the ICMP message
    ttl         INTEGER NOT NULL,             -- TTL / hop limit of the ICMP message
    family      TEXT    NOT NULL,             -- 'icmp' or 'icmp6'
    type        INTEGER NOT NULL,
    code        INTEGER NOT NULL,
    vlan        INTEGER,                      -- outermost VLAN id
    proto       INTEGER,                      -- quoted IP protocol (17 = UDP)
    src         TEXT,                         -- quoted source address and port
    sport       INTEGER,
    dst         TEXT,                         -- quoted destination address and port
    dport       INTEGER,
    quote_ttl   INTEGER,                      -- TTL left in the quoted header
    quote_ip_len INTEGER,                     -- declared length of the original datagram
    udp_len     INTEGER,
    quote_len   INTEGER,                      -- bytes of the original datagram quoted
    rfc4884_len INTEGER,
    hint        TEXT,                         -- "dns A example.com" (raw bytes, unescaped)
    dns_id      INTEGER,
    dns_qtype   INTEGER,
    dns_qname   BLOB,                         -- raw query name bytes
    anomalies   TEXT,                         -- comma-separated anomaly names
    role        TEXT,                         -- quoted datagram was a 'request' or a 'reply'
    flow_id     INTEGER REFERENCES flows(id) ON DELETE SET NULL,
    orig_seen   INTEGER NOT NULL DEFAULT 0,   -- 1: the quoted datagram is in the capture
    orig_delay_ns INTEGER,                    -- error time minus the quoted datagram's time
    -- (v2) The refused datagram in its conversation. "The other way" is the opposite
    -- direction: for a refused reply, the client's requests.
    icmp_cksum  INTEGER,                      -- ICMP checksum as sent (same at every capture point)
    quote_ip_id INTEGER,                      -- IPv4 identification of the quoted datagram
    other_delay_ns INTEGER,                   -- refused datagram minus the last one the other way
    other_wait_ns  INTEGER,                   -- ... minus the first of that last run the other way
    other_run   INTEGER,                      -- datagrams in that run (> 1: the peer repeated)
    fwd_before  INTEGER,                      -- datagrams of the flow the refused way, it included
    rev_before  INTEGER,                      -- datagrams of the flow the other way before it
    sender_peers INTEGER,                     -- distinct peers the refused datagram's socket sent to
    finding_id  INTEGER,                      -- the finding that claimed it (set by the diagnosis)
    dup_of      INTEGER                       -- the same error seen at another capture point
);
CREATE INDEX IF NOT EXISTS events_capture ON events (capture_id, frame);
-- A finding's events in time order (then id): the first ones a report shows are the same
-- whatever order the captures were stored in (-j N). Version 6; before, (finding_id) alone.
-- Version 7: partial, so storing an event (its finding_id still NULL) writes no entry here,
-- and events_flow (flow_id), which no query read, is gone.
CREATE INDEX IF NOT EXISTS events_finding ON events (finding_id, ts_ns)
    WHERE finding_id IS NOT NULL;

-- Per-capture UDP statistics of the endpoints the diagnosis needs: every endpoint an error
-- was about, and the endpoints that share its host or its port.
CREATE TABLE IF NOT EXISTS endpoints (
    capture_id  INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    ip          TEXT    NOT NULL,
    port        INTEGER NOT NULL,
    rx_packets  INTEGER NOT NULL DEFAULT 0,   -- datagrams to ip:port
    rx_bytes    INTEGER NOT NULL DEFAULT 0,
    tx_packets  INTEGER NOT NULL DEFAULT 0,   -- datagrams from ip:port
    tx_bytes    INTEGER NOT NULL DEFAULT 0,
    first_rx_ns INTEGER, last_rx_ns INTEGER,
    first_tx_ns INTEGER, last_tx_ns INTEGER,
    n_clients   INTEGER NOT NULL DEFAULT 0,   -- distinct peers that sent to it (capped count)
    app         TEXT,                         -- application seen in its datagrams ('dns', ...)
    errors      INTEGER NOT NULL DEFAULT 0,   -- port unreachables about it
    err_first_ns INTEGER, err_last_ns INTEGER,
    tx_before_err_ns INTEGER,                 -- last datagram from it before its first error
    tx_after_err_ns  INTEGER,                 -- first datagram from it after its last error
    tx_during_err    INTEGER NOT NULL DEFAULT 0, -- datagrams from it between first and last error
    rx_unanswered    INTEGER NOT NULL DEFAULT 0, -- requests to it in error bursts with no reply
    n_peers     INTEGER NOT NULL DEFAULT 0,   -- (v2) distinct peers it sent to (estimate)
    tx_refused_during INTEGER NOT NULL DEFAULT 0, -- (v2) datagrams to the clients it refused,
    tx_other_during   INTEGER NOT NULL DEFAULT 0, --  and to others, between its first and last error
    PRIMARY KEY (capture_id, ip, port)
) WITHOUT ROWID;
-- No secondary index: the diagnosis reads the endpoints of its captures once, in full, into a
-- temporary table it indexes itself (version 6 dropped endpoints_ip_port and endpoints_port,
-- whose upkeep was a third of storing a small capture).

-- Peers seen talking to a stored endpoint (at most a few per endpoint).
CREATE TABLE IF NOT EXISTS endpoint_clients (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    ip         TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    client_ip  TEXT    NOT NULL,
    PRIMARY KEY (capture_id, ip, port, client_ip)
) WITHOUT ROWID;
-- No secondary index (version 8 dropped endpoint_clients_ep): its upkeep, a random insert per
-- row, was a sixth of storing a rotated archive's files; the diagnosis copies the run's pairs
-- into a temporary table indexed both ways (analyzer/diagnose.c, dg_need_client_index).

-- TTLs seen in packets from each host that sent an ICMP error or a stored endpoint's datagrams.
CREATE TABLE IF NOT EXISTS host_ttls (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    ip         TEXT    NOT NULL,
    ttl        INTEGER NOT NULL,
    packets    INTEGER NOT NULL,
    PRIMARY KEY (capture_id, ip, ttl)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS host_ttls_ip ON host_ttls (ip, ttl);

-- (v2) Datagrams sent from each UDP source port that a port unreachable quoted, all peers
-- together: the size of a reflected flood from a service port.
CREATE TABLE IF NOT EXISTS source_ports (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    port       INTEGER NOT NULL,
    datagrams  INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    PRIMARY KEY (capture_id, port)
) WITHOUT ROWID;

-- (v2) Facts about the database itself: 'findings_from' records what the findings were
-- computed from (the rules' version, the captures), so a report of an unchanged database
-- reuses them and writes nothing.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
) WITHOUT ROWID;

-- Findings: recomputed from the rows above after every run (and by `report`, `merge`).
CREATE TABLE IF NOT EXISTS findings (
    id          INTEGER PRIMARY KEY,
    diagnosis   TEXT    NOT NULL,             -- one label of SPEC §6
    secondary   TEXT    NOT NULL DEFAULT '[]',-- JSON array of labels
    confidence  TEXT    NOT NULL,             -- 'high', 'medium', 'low'
    severity    INTEGER NOT NULL,             -- larger = more severe (report order)
    server_ip   TEXT    NOT NULL,             -- traceroute/udp-scan: the target
    server_port INTEGER NOT NULL,             -- traceroute/udp-scan: lowest port probed
    proto       TEXT    NOT NULL DEFAULT 'udp',
    service     TEXT,                         -- 'dns', 'syslog', ... (knowledge base name)
    ports       INTEGER NOT NULL DEFAULT 1,   -- distinct ports (scan, traceroute)
    source_ip   TEXT,                         -- traceroute/udp-scan: the prober
    errors      INTEGER NOT NULL,             -- port unreachables
    requests    INTEGER NOT NULL,             -- datagrams to the server endpoint
    replies     INTEGER NOT NULL,             -- datagrams from it
    clients     TEXT    NOT NULL DEFAULT '[]',-- JSON array of addresses
    reporters   TEXT    NOT NULL DEFAULT '[]',-- JSON array of addresses
    first_error_ns INTEGER, last_error_ns INTEGER,
    outage_start_ns INTEGER,                  -- service-restarted: last reply before, first after
    outage_end_ns   INTEGER,
    precision   INTEGER NOT NULL DEFAULT 6,
    evidence    TEXT    NOT NULL DEFAULT '[]',-- JSON array of sentences
    names       TEXT    NOT NULL DEFAULT '[]',-- JSON array of {"name","type","count","hex"}
    related     TEXT,                         -- wrong-port/wrong-host: where it does answer
    capture_points TEXT NOT NULL DEFAULT '[]' -- (v2) JSON array of the capture paths its events are in
);

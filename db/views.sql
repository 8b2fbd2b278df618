-- portmortem's per-connection views (SQLite): facts about stored rows that queries ask for by
-- name, so each is written here once. TEMP views, made by db_define_views() on every
-- connection: nothing is stored in the database (databases of every schema version read
-- alike), and on a database opened to read only they read the temp tables the diagnosis
-- writes (db_shadow_written), as unqualified names resolve to temp first.

-- Every event, with what kind of ICMP error it is: port_unreachable (ICMPv4 type 3 code 3,
-- ICMPv6 type 1 code 4: the C definition is pm_is_port_unreachable() in dissectors/dissect.h)
-- and time_exceeded (ICMPv4 type 11, ICMPv6 type 3); and udp_ports, whether it quotes a UDP
-- datagram (IP protocol 17: PM_IPPROTO_UDP) with both its ports.
CREATE TEMP VIEW IF NOT EXISTS event_kinds AS SELECT *,
    ((family = 'icmp' AND type = 3 AND code = 3) OR (family = 'icmp6' AND type = 1 AND code = 4))
      AS port_unreachable,
    ((family = 'icmp' AND type = 11) OR (family = 'icmp6' AND type = 3)) AS time_exceeded,
    (proto = 17 AND sport IS NOT NULL AND dport IS NOT NULL) AS udp_ports
  FROM events;

#!/usr/bin/python3
"""Drives one libtorrent DHT node for warren's interop test (test/interop/libtorrent.test.ts).

Started as `/usr/bin/python3 test/interop/libtorrent-dht.py`. Reads one JSON command per line on
stdin and writes one JSON event per line on stdout. Everything binds to 127.0.0.1, unless `start`
names another listen address (an IPv6 one inside a test's network namespace: libtorrent then runs
its DHT over IPv6, BEP 32). Endpoints in events are host:port, [host]:port for IPv6. The process
exits on `quit`, on end of stdin, or by itself after LIFETIME_S seconds, whichever comes first.

Commands and the events they produce:
  {"cmd":"start","bootstrap":"127.0.0.1:P","listen":"[fd57::5]:0","debug":bool}
                                                -> {"event":"ready","port":N,"nodeId":hex}
                                                   (listen: default 127.0.0.1:0; debug: libtorrent's
                                                   DHT log goes to stderr)
  {"cmd":"wait_bootstrap"}                      -> {"event":"bootstrapped"} once dht_bootstrap_alert came
  {"cmd":"stats"}                               -> {"event":"stats","tableSize":N,"nodes":[{"id","endpoint"}]}
  {"cmd":"announce","infohash":hex,"port":P}    -> {"event":"announcing","port":Q,"via":...}: Q is the port the
                                                   network will list (libtorrent posts no completion);
                                                   see Driver.announce for the 2.0.8 fallback
  {"cmd":"get_peers","infohash":hex,"timeout":s}-> {"event":"peers","infohash":hex,"peers":[...]} per reply,
                                                   then {"event":"get_peers_done",...} after `timeout` s
  {"cmd":"put_immutable","value":str}           -> {"event":"putting","target":hex}, then
                                                   {"event":"put","target":hex,"numSuccess":n} when done
  {"cmd":"get_immutable","target":hex}          -> {"event":"item","target":hex,"found":bool,"value":str|null}
  {"cmd":"add_node","host":h,"port":p}          -> {"event":"node_added"}
  {"cmd":"quit"}                                -> {"event":"bye"}, exit 0
Failures are reported as {"event":"error","message":...}; the driver never prints anything else.
"""
import sys
import tempfile
import time

from lt_jsonlines import emit, import_libtorrent, run

lt = import_libtorrent()


def endpoint(ip, port):
    """host:port, with brackets around an IPv6 host."""
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)


def text(value):
    """A bencoded string from the DHT as a Python str (bytes decoded as UTF-8)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


class Driver:
    def __init__(self):
        self.ses = None
        self.debug = False
        self.tmp = None  # save_path of torrents added by announce
        self.node_id = None
        self.port = None
        self.bootstrapped = False
        self.waiting_bootstrap = False
        self.waiting_stats = False
        self.stats_table = None
        self.get_peers = {}  # infohash hex -> {"peers": set, "deadline": t}
        self.gets = set()  # item targets asked for

    def start(self, cmd):
        if self.ses is not None:
            raise RuntimeError("already started")
        settings = {
            "listen_interfaces": cmd.get("listen", "127.0.0.1:0"),
            "enable_dht": True,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            # libtorrent bans an IP that sends it more than dht_block_ratelimit packets a second
            # (default 5), responses included. On loopback all warren nodes share 127.0.0.1, so the
            # default ban hits within a second of ordinary lookups ("BANNING PEER [ ip: 127.0.0.1
            # time: 589 ms count: 50 ]") and every later reply from any warren node is dropped.
            "dht_block_ratelimit": 100000,
            "dht_bootstrap_nodes": cmd.get("bootstrap", ""),
            "alert_mask": lt.alert.category_t.dht_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.dht_log_notification,
        }
        self.debug = bool(cmd.get("debug"))
        if self.debug:
            settings["alert_mask"] |= lt.alert.category_t.torrent_log_notification | lt.alert.category_t.session_log_notification
        self.ses = lt.session(settings)
        deadline = time.monotonic() + 10
        while self.port is None or self.node_id is None:
            if time.monotonic() > deadline:
                raise RuntimeError("libtorrent did not bind / start its DHT within 10 s")
            self.pump(0.1)
        emit({"event": "ready", "port": self.port, "nodeId": self.node_id})

    def pump(self, wait_s):
        """Waits up to wait_s for alerts and handles all that are queued."""
        if self.ses is None:
            return
        self.ses.wait_for_alert(int(wait_s * 1000))
        for alert in self.ses.pop_alerts():
            self.on_alert(alert)
        self.expire()

    def on_alert(self, alert):
        if isinstance(alert, lt.listen_succeeded_alert):
            if alert.socket_type in (lt.socket_type_t.udp, lt.socket_type_t.utp):
                self.port = alert.port
        elif isinstance(alert, lt.dht_log_alert):
            msg = alert.message()
            marker = "with node id: "
            if self.node_id is None and marker in msg:
                self.node_id = msg.split(marker, 1)[1].strip()[:40]
            if self.debug:
                sys.stderr.write("lt: %s\n" % msg)
        elif self.debug and isinstance(alert, (lt.torrent_log_alert, lt.log_alert)):
            sys.stderr.write("lt: %s\n" % alert.message())
        elif isinstance(alert, lt.dht_bootstrap_alert):
            self.bootstrapped = True
            if self.waiting_bootstrap:
                self.waiting_bootstrap = False
                emit({"event": "bootstrapped"})
        elif isinstance(alert, lt.dht_stats_alert):
            self.stats_table = sum(b["num_nodes"] for b in alert.routing_table)
            if self.node_id is not None:
                self.ses.dht_live_nodes(lt.sha1_hash(bytes.fromhex(self.node_id)))
        elif isinstance(alert, lt.dht_live_nodes_alert):
            if self.waiting_stats:
                self.waiting_stats = False
                nodes = [
                    {"id": str(n["nid"]), "endpoint": endpoint(n["endpoint"][0], n["endpoint"][1])}
                    for n in alert.nodes
                ]
                emit({"event": "stats", "tableSize": self.stats_table, "nodes": nodes})
        elif isinstance(alert, lt.dht_get_peers_reply_alert):
            key = str(alert.info_hash)
            lookup = self.get_peers.get(key)
            if lookup is not None:
                lookup["peers"].update(endpoint(ip, port) for ip, port in alert.peers())
                emit({"event": "peers", "infohash": key, "peers": sorted(lookup["peers"])})
        elif isinstance(alert, lt.dht_put_alert):
            emit({"event": "put", "target": str(alert.target), "numSuccess": alert.num_success})
        elif isinstance(alert, lt.dht_immutable_item_alert):
            key = str(alert.target)
            if key in self.gets:
                self.gets.discard(key)
                item = alert.item
                # 2.0.8's binding hands over {"key": target, "value": v} rather than the bare entry
                if isinstance(item, dict) and "value" in item:
                    item = item["value"]
                value = text(item) if item is not None else None
                emit({"event": "item", "target": key, "found": value is not None, "value": value, "raw": repr(item)})

    def announce(self, infohash, port):
        """dht_announce, or where 2.0.8's binding cannot take it (no converter for its flags argument,
        libtorrent issue #7441, fixed in 2.0.9), a magnet-style torrent for `infohash`, which
        libtorrent announces by itself on its listen port."""
        sha1 = lt.sha1_hash(bytes.fromhex(infohash))
        try:
            self.ses.dht_announce(sha1, port, 0)
            emit({"event": "announcing", "port": port, "via": "dht_announce"})
            return
        except Exception as error:
            if type(error).__name__ != "ArgumentError":
                raise
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="warren-lt-")
        params = lt.add_torrent_params()
        params.info_hashes = lt.info_hash_t(sha1)
        params.save_path = self.tmp.name
        params.name = "warren-interop"
        self.ses.add_torrent(params)
        emit({"event": "announcing", "port": self.port, "via": "torrent"})

    def close(self):
        if self.ses is not None:
            for handle in self.ses.get_torrents():
                self.ses.remove_torrent(handle)
        if self.tmp is not None:
            self.tmp.cleanup()

    def expire(self):
        now = time.monotonic()
        for key, lookup in list(self.get_peers.items()):
            if now >= lookup["deadline"]:
                del self.get_peers[key]
                emit({"event": "get_peers_done", "infohash": key, "peers": sorted(lookup["peers"])})

    def handle(self, cmd):
        name = cmd.get("cmd")
        if name == "wait_bootstrap":
            if self.bootstrapped:
                emit({"event": "bootstrapped"})
            else:
                self.waiting_bootstrap = True
        elif name == "stats":
            self.waiting_stats = True
            self.ses.post_dht_stats()
        elif name == "announce":
            self.announce(cmd["infohash"].lower(), int(cmd["port"]))
        elif name == "get_peers":
            key = cmd["infohash"].lower()
            self.get_peers[key] = {"peers": set(), "deadline": time.monotonic() + float(cmd.get("timeout", 15))}
            self.ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(key)))
        elif name == "put_immutable":
            target = self.ses.dht_put_immutable_item(cmd["value"])
            emit({"event": "putting", "target": str(target)})
        elif name == "get_immutable":
            key = cmd["target"].lower()
            self.gets.add(key)
            self.ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(key)))
        elif name == "add_node":
            self.ses.add_dht_node((cmd["host"], int(cmd["port"])))
            emit({"event": "node_added"})
        else:
            raise RuntimeError("unknown command %r" % name)



if __name__ == "__main__":
    sys.exit(run(Driver()))

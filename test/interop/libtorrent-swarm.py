#!/usr/bin/python3
"""Drives one libtorrent session (BitTorrent peer, no DHT) for warren's swarm interop tests
(test/interop/swarm-libtorrent.test.ts, swarm-libtorrent-encrypted.test.ts, swarm-webseed-libtorrent.test.ts,
swarm-utp-libtorrent.test.ts, swarm-v2-libtorrent.test.ts): v1, v2-only (BEP 52) and hybrid torrents.

Started as `/usr/bin/python3 test/interop/libtorrent-swarm.py`. Reads one JSON command per line on
stdin and writes one JSON event per line on stdout. Listens on 127.0.0.1 only (or the one address
`start` names, e.g. [fd57::1]:0 inside a test's network namespace), no DHT, LSD, UPnP or
NAT-PMP: peers are given by hand with `connect`. One transport, chosen at `start`: TCP only (uTP
off; the default) or uTP only (BEP 29; TCP off both ways). The process exits on `quit`, on end of
stdin, or by itself after LIFETIME_S seconds, whichever comes first.

Commands and the events they produce:
  {"cmd":"start","debug":bool,"encryption":"forced"?,"transport":"tcp"|"utp"?,"listen":"host:port"?,
   "outgoing":bool?}
                                                -> {"event":"ready","port":N}
                                                   (listen: libtorrent's listen_interfaces, one
                                                   address, e.g. "[fd57::1]:0" for IPv6 (BEP 7);
                                                   default "127.0.0.1:0"; outgoing false: libtorrent
                                                   makes no connection itself, it only accepts)
                                                   (debug: peer and torrent log alerts go to stderr;
                                                   encryption "forced": MSE with RC4 only, both ways,
                                                   plain connections refused; transport "tcp" (the
                                                   default): TCP only, N is the TCP listen port;
                                                   "utp": uTP only, N is the UDP port uTP listens on.
                                                   libtorrent binds TCP and UDP to the same port number
                                                   either way, and with "utp" it still accepts TCP
                                                   connections at the socket level but closes them
                                                   at once (peer_blocked_alert tcp_disabled))
  {"cmd":"create","path":p,"out":f,"pieceLength":n,"format":"v1"|"v2"|"hybrid"?,"hybrid":bool?,
   "webSeeds":[url,...]?}
                                                -> {"event":"created","infohash":key,"v2":hex64?,"pieces":n}:
                                                   a .torrent of file or folder p written to f. format
                                                   "v1" (the default; create_torrent.v1_only), "v2"
                                                   (BEP 52 only: file tree and piece layers, no
                                                   `pieces`; create_torrent.v2_only) or "hybrid" (v1 +
                                                   v2 in one info dictionary, with BEP 47 padding files;
                                                   flags 0). "hybrid": true is the older spelling of
                                                   format "hybrid" (format wins when both are given).
                                                   infohash is the torrent's key (see "Torrent keys");
                                                   v2 (v2 and hybrid only) is the whole SHA-256 v2
                                                   infohash, 64 hex characters. webSeeds (optional):
                                                   BEP 19 web seed URLs written to its url-list
                                                   (create_torrent.add_url_seed)
  {"cmd":"add","torrent":f | "magnet":uri,"savePath":d}
                                                -> {"event":"added","infohash":key}: magnet may be
                                                   v1 (xt=urn:btih:), v2-only (xt=urn:btmh:1220<64 hex>)
                                                   or hybrid (both xt), as lt.parse_magnet_uri reads them
                                                   "wantedPaths":[p,...] (with "torrent" only):
                                                   download only the files at these paths ("/"-
                                                   separated, starting with the torrent's name):
                                                   file priority 0 for every other file; "finished"
                                                   then comes once those files are whole
                                                   "pex": true: peer exchange (BEP 11) on for this
                                                   torrent (off by default); "downloadLimit": bytes/s
  {"cmd":"connect","infohash":hex,"host":h,"port":p}
                                                -> {"event":"connecting","infohash":hex}
  {"cmd":"flush","infohash":hex}               -> {"event":"flushed","infohash":hex} once written data
                                                   is out of libtorrent's buffers
  {"cmd":"status","infohash":hex}               -> {"event":"status","infohash":hex,"state":s,"progress":x,
                                                    "peers":n,"seed":bool,"hasMetadata":bool}
  {"cmd":"peers","infohash":hex}                -> {"event":"peers","infohash":hex,"peers":[{"ip":h,"port":p,
                                                    "utp":bool,"client":s,"progress":x},...]}: the
                                                   torrent's connections now (handle.get_peer_info();
                                                   utp: the connection runs over uTP; progress 0..1 of
                                                   the peer's pieces; port: the remote port of the
                                                   connection, for incoming ones not the peer's listen port)
  {"cmd":"quit"}                                -> {"event":"bye"}, exit 0
Events that come by themselves, for every torrent:
  {"event":"state","infohash":hex,"state":"checking_files"|"downloading"|"seeding"|...}
  {"event":"metadata","infohash":hex}           metadata received from a peer (BEP 9)
  {"event":"finished","infohash":hex}           every piece downloaded and verified
  {"event":"torrent_error","infohash":hex,"message":m}   torrent or file error
Failures of commands are {"event":"error","message":...}; the driver never prints anything else.

Torrent keys: every "infohash" in commands and events is the key of a torrent, 40 lowercase hex
characters: its v1 infohash when it has one (v1 and hybrid torrents, and magnets with a btih), else
(v2-only) the first 40 hex characters of its SHA-256 v2 infohash, i.e. the truncated v2 infohash
BEP 52 uses in handshakes, which is also warren's id for the torrent. A torrent keeps the key it got
when added, even when its metadata later shows more (a btmh-only magnet of a hybrid torrent).
"""
import os
import sys
import time

from lt_jsonlines import emit, import_libtorrent, run

lt = import_libtorrent()

# peer_info::utp_socket (bit 17 of peer_info.flags in libtorrent 2.0). Debian's 2.0.8 bindings
# export most peer flags (rc4_encrypted = bit 19, ...) but not utp_socket (nor i2p_socket or
# ssl_socket), hence the fallback to the bit of libtorrent's peer_info.hpp.
UTP_SOCKET = int(getattr(lt.peer_info, "utp_socket", 1 << 17))
# The socket type of the uTP listen_succeeded_alert: utp, which the bindings also name udp (same value).
UTP_LISTEN = lt.socket_type_t.utp
TRANSPORTS = ("tcp", "utp")


FORMATS = ("v1", "v2", "hybrid")
CREATE_FLAGS = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}


def key_of_hashes(hashes):
    """The key of a torrent from its lt.info_hash_t: the v1 hex, or the truncated v2 hex (v2-only)."""
    if hashes.has_v1():
        return str(hashes.v1)
    return str(hashes.v2)[:40]


# The key each torrent got when added (handles are hashable and compare equal for one torrent).
KEYS = {}


def key_of(handle):
    key = KEYS.get(handle)
    return key if key is not None else key_of_hashes(handle.info_hashes())


class Driver:
    def __init__(self):
        self.ses = None
        self.debug = False
        self.port = None
        # The socket type whose listen_succeeded_alert gives the port reported in `ready`.
        self.listen_type = lt.socket_type_t.tcp
        self.handles = {}  # infohash hex -> torrent_handle

    def start(self, cmd):
        if self.ses is not None:
            raise RuntimeError("already started")
        self.debug = bool(cmd.get("debug"))
        transport = cmd.get("transport") or "tcp"
        if transport not in TRANSPORTS:
            raise ValueError("transport must be one of %s, not %r" % (", ".join(TRANSPORTS), transport))
        mask = (
            lt.alert.category_t.status_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.storage_notification
        )
        if self.debug:
            mask |= lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification
            mask |= lt.alert.category_t.peer_log_notification | lt.alert.category_t.torrent_log_notification
        settings = {
            "listen_interfaces": cmd.get("listen") or "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            # Every peer in the test is 127.0.0.1 (or ::1): without this libtorrent keeps one connection per IP.
            "allow_multiple_connections_per_ip": True,
            "alert_mask": mask,
        }
        if transport == "utp":
            # uTP only. Both TCP switches are needed: enable_outgoing_tcp alone would still let peers
            # connect to libtorrent over TCP. libtorrent keeps its TCP listen socket even so (a TCP
            # connect succeeds) but closes every accepted TCP connection at once.
            settings.update({
                "enable_outgoing_tcp": False,
                "enable_incoming_tcp": False,
                "enable_outgoing_utp": True,
                "enable_incoming_utp": True,
            })
            self.listen_type = UTP_LISTEN
        else:
            # TCP only: libtorrent would otherwise try uTP first.
            settings.update({"enable_outgoing_utp": False, "enable_incoming_utp": False})
        if cmd.get("outgoing") is False:
            settings.update({"enable_outgoing_tcp": False, "enable_outgoing_utp": False})
        if cmd.get("encryption") == "forced":
            settings.update({
                "out_enc_policy": int(lt.enc_policy.pe_forced),
                "in_enc_policy": int(lt.enc_policy.pe_forced),
                "allowed_enc_level": int(lt.enc_level.pe_rc4),
                "prefer_rc4": True,
            })
        self.ses = lt.session(settings)
        deadline = time.monotonic() + 10
        while self.port is None:
            if time.monotonic() > deadline:
                raise RuntimeError("libtorrent did not start listening within 10 s")
            self.pump(0.1)
        emit({"event": "ready", "port": self.port})

    def pump(self, wait_s):
        """Waits up to wait_s for alerts and handles all that are queued."""
        if self.ses is None:
            return
        self.ses.wait_for_alert(int(wait_s * 1000))
        for alert in self.ses.pop_alerts():
            self.on_alert(alert)

    def on_alert(self, alert):
        if isinstance(alert, lt.listen_succeeded_alert):
            # libtorrent listens with TCP and UDP (uTP) on the same port number, one alert each.
            if alert.socket_type == self.listen_type:
                self.port = alert.port
        elif isinstance(alert, lt.state_changed_alert):
            emit({"event": "state", "infohash": key_of(alert.handle), "state": str(alert.state)})
        elif isinstance(alert, lt.metadata_received_alert):
            emit({"event": "metadata", "infohash": key_of(alert.handle)})
        elif isinstance(alert, lt.cache_flushed_alert):
            emit({"event": "flushed", "infohash": key_of(alert.handle)})
        elif isinstance(alert, lt.torrent_finished_alert):
            emit({"event": "finished", "infohash": key_of(alert.handle)})
        elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert, lt.metadata_failed_alert)):
            emit({"event": "torrent_error", "infohash": key_of(alert.handle), "message": alert.message()})
        elif isinstance(alert, lt.listen_failed_alert):
            emit({"event": "error", "message": alert.message()})
        elif self.debug:
            sys.stderr.write("lt %.3f: %s: %s\n" % (time.monotonic(), type(alert).__name__, alert.message()))

    def create(self, cmd):
        path = os.path.abspath(cmd["path"])
        files = lt.file_storage()
        lt.add_files(files, path)
        fmt = cmd.get("format") or ("hybrid" if cmd.get("hybrid") else "v1")
        if fmt not in FORMATS:
            raise ValueError("format must be one of %s, not %r" % (", ".join(FORMATS), fmt))
        creator = lt.create_torrent(files, int(cmd.get("pieceLength", 0)), flags=CREATE_FLAGS[fmt])
        creator.set_creator("libtorrent %s (warren interop test)" % lt.__version__)
        for url in cmd.get("webSeeds", []):
            creator.add_url_seed(url)
        lt.set_piece_hashes(creator, os.path.dirname(path))
        data = lt.bencode(creator.generate())
        with open(cmd["out"], "wb") as out:
            out.write(data)
        info = lt.torrent_info(cmd["out"])
        hashes = info.info_hashes()
        event = {"event": "created", "infohash": key_of_hashes(hashes), "pieces": info.num_pieces()}
        if hashes.has_v2():
            event["v2"] = str(hashes.v2)
        emit(event)

    def add(self, cmd):
        if "torrent" in cmd:
            params = lt.load_torrent_file(cmd["torrent"])
        else:
            params = lt.parse_magnet_uri(cmd["magnet"])
        params.save_path = cmd["savePath"]
        if "wantedPaths" in cmd:
            files = params.ti.files()
            wanted = set(cmd["wantedPaths"])
            paths = [files.file_path(i).replace(os.sep, "/") for i in range(files.num_files())]
            missing = wanted.difference(paths)
            if missing:
                raise ValueError("no such file in the torrent: %s" % ", ".join(sorted(missing)))
            params.file_priorities = [4 if path in wanted else 0 for path in paths]
        # Nobody else: no trackers, DHT, LSD or (unless asked for) PEX, only the peers given with `connect`.
        params.trackers = []
        params.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
        if not cmd.get("pex"):
            params.flags |= lt.torrent_flags.disable_pex
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        handle = self.ses.add_torrent(params)
        if "downloadLimit" in cmd:
            handle.set_download_limit(int(cmd["downloadLimit"]))
        key = key_of_hashes(handle.info_hashes())
        KEYS[handle] = key
        self.handles[key] = handle
        emit({"event": "added", "infohash": key})

    def handle_of(self, cmd):
        handle = self.handles.get(cmd["infohash"].lower())
        if handle is None:
            raise RuntimeError("no torrent %s" % cmd["infohash"])
        return handle

    def close(self):
        if self.ses is not None:
            for handle in self.ses.get_torrents():
                self.ses.remove_torrent(handle)

    def handle(self, cmd):
        name = cmd.get("cmd")
        if name == "create":
            self.create(cmd)
        elif name == "add":
            self.add(cmd)
        elif name == "connect":
            handle = self.handle_of(cmd)
            handle.connect_peer((cmd["host"], int(cmd["port"])))
            emit({"event": "connecting", "infohash": key_of(handle)})
        elif name == "flush":
            self.handle_of(cmd).flush_cache()
        elif name == "status":
            handle = self.handle_of(cmd)
            s = handle.status()
            emit(
                {
                    "event": "status",
                    "infohash": key_of(handle),
                    "state": str(s.state),
                    "progress": s.progress,
                    "peers": s.num_peers,
                    "seed": s.is_seeding,
                    "hasMetadata": s.has_metadata,
                }
            )
        elif name == "peers":
            handle = self.handle_of(cmd)
            emit({"event": "peers", "infohash": key_of(handle), "peers": [peer_json(p) for p in handle.get_peer_info()]})
        else:
            raise RuntimeError("unknown command %r" % name)


def peer_json(peer):
    client = peer.client
    if isinstance(client, bytes):
        client = client.decode("utf-8", "replace")
    return {
        "ip": peer.ip[0],
        "port": peer.ip[1],
        "utp": bool(int(peer.flags) & UTP_SOCKET),
        "client": client,
        "progress": peer.progress,
    }


if __name__ == "__main__":
    sys.exit(run(Driver()))

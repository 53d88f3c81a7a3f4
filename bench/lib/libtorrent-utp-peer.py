#!/usr/bin/python3
"""One libtorrent peer, uTP only, in its own process, for the uTP benchmark (bench/utp.ts).

usage: libtorrent-utp-peer.py seed|leech <file.torrent> <dir> [socket-buffer-bytes]

Speaks the JSON-lines protocol of bench/lib/swarm-warren-child.ts, so the benchmark drives
libtorrent and warren peers alike:

  seed:  checks <dir> fully against the torrent, then -> {"event":"ready","port","pid","version","settings"}
  leech: -> {"event":"ready",...} at once; stdin `go <json [{"host","port"},...]>` adds the torrent
         (saved under <dir>) and connects to those peers -> {"event":"progress",...} each second,
         then {"event":"complete","ms","cpu","peakRss"} once every piece is verified; it keeps seeding.
  stdin `stats` -> {"event":"stats","cpu","peakRss","uploaded","utp":{counter: n}}: `utp` holds
         libtorrent's uTP session counters (utp.*, e.g. utp_packet_resend, utp_packet_loss,
         utp_timeout, utp_redundant_pkts_in), the view of the other side's packets from here.
  stdin `stop` (or end of stdin, or SIGTERM) -> the session is closed (its files flushed) and the
         process exits 0.

`cpu`: user + system seconds of this process since the transfer began (leech: `go`; seed: ready).
The session starts from libtorrent's `high_performance_seed()` settings pack (as
libtorrent-swarm-bench.py does for TCP), listens on 127.0.0.1 only, no DHT/LSD/UPnP/NAT-PMP, and
speaks uTP only: TCP off both ways (libtorrent still binds a TCP socket at its port number but
closes every connection accepted there). `port` is the UDP port uTP listens on. Its sockets' send
and receive buffers are set to socket-buffer-bytes (libtorrent's send/recv_socket_buffer_size;
default 4 MiB, what warren asks for its UDP socket; 0 leaves the OS default, 208 KiB on a stock
Linux, on which libtorrent's uTP loses datagrams on loopback).
Failures are {"event":"error","message"} and exit 1.
"""
import json
import os
import queue
import resource
import signal
import sys
import threading
import time

import libtorrent as lt

LISTEN_TIMEOUT_S = 10
CHECK_TIMEOUT_S = 300


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# peer_info::utp_socket (bit 17 in libtorrent 2.0); Debian's 2.0.8 bindings do not export it.
UTP_SOCKET = int(getattr(lt.peer_info, "utp_socket", 1 << 17))


def settings(socket_buffer):
    pack = lt.high_performance_seed()
    pack.update({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_tcp": False,
        "enable_incoming_tcp": False,
        "enable_outgoing_utp": True,
        "enable_incoming_utp": True,
        "allow_multiple_connections_per_ip": True,
        "recv_socket_buffer_size": socket_buffer,
        "send_socket_buffer_size": socket_buffer,
        "hashing_threads": 2,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.stats_notification,
    })
    return pack


SHOWN_SETTINGS = (
    "send_buffer_watermark", "max_out_request_queue", "aio_threads", "hashing_threads",
    "enable_outgoing_tcp", "enable_incoming_tcp", "utp_target_delay", "utp_gain_factor",
    "utp_min_timeout", "utp_loss_multiplier", "mixed_mode_algorithm", "recv_socket_buffer_size",
    "send_socket_buffer_size",
)


class Peer:
    def __init__(self, mode, torrent_file, save_dir, socket_buffer):
        self.mode = mode
        self.torrent_file = torrent_file
        self.save_dir = save_dir
        self.ses = lt.session(settings(socket_buffer))
        self.port = None
        self.handle = None
        self.piece_count = 0
        self.stats_values = None
        self.cpu0 = cpu_seconds()
        self.t0 = None
        self.done = False
        self.torrent_error = None

    def pump(self, wait_ms):
        self.ses.wait_for_alert(wait_ms)
        for alert in self.ses.pop_alerts():
            if isinstance(alert, lt.listen_succeeded_alert) and alert.socket_type == lt.socket_type_t.utp:
                self.port = alert.port
            elif isinstance(alert, lt.listen_failed_alert):
                raise RuntimeError(alert.message())
            elif isinstance(alert, lt.session_stats_alert):
                self.stats_values = alert.values
            elif isinstance(alert, (lt.torrent_error_alert, lt.file_error_alert)):
                self.torrent_error = alert.message()

    def add(self):
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(self.torrent_file)
        params.save_path = self.save_dir
        params.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        self.handle = self.ses.add_torrent(params)
        self.piece_count = params.ti.num_pieces()

    def start(self):
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while self.port is None:
            if time.monotonic() > deadline:
                raise RuntimeError("libtorrent did not listen for uTP within %d s" % LISTEN_TIMEOUT_S)
            self.pump(100)
        if self.mode == "seed":
            self.add()
            deadline = time.monotonic() + CHECK_TIMEOUT_S
            while not self.handle.status().is_seeding:
                if self.torrent_error:
                    raise RuntimeError(self.torrent_error)
                if time.monotonic() > deadline:
                    s = self.handle.status()
                    raise RuntimeError("seed check timed out in state %s, %d pieces" % (s.state, s.num_pieces))
                self.pump(10)
            self.cpu0 = cpu_seconds()
        current = self.ses.get_settings()
        emit(event="ready", port=self.port, pid=os.getpid(), version=lt.__version__,
             settings={k: current[k] for k in SHOWN_SETTINGS if k in current})

    def go(self, peers):
        self.cpu0 = cpu_seconds()
        self.t0 = time.monotonic()
        self.add()
        for peer in peers:
            self.handle.connect_peer((peer["host"], int(peer["port"])))

    def report(self, name):
        s = self.handle.status()
        peers = [
            "%s:%d %s \u2193%d" % (p.ip[0], p.ip[1], "utp" if int(p.flags) & UTP_SOCKET else "tcp", p.payload_down_speed)
            for p in self.handle.get_peer_info()
        ]
        return dict(event=name, state=str(s.state), piecesHad=s.num_pieces, pieceCount=self.piece_count,
                    downloaded=s.total_payload_download, uploaded=s.total_payload_upload, peers=peers)

    def stats(self):
        self.stats_values = None
        self.ses.post_session_stats()
        deadline = time.monotonic() + 5
        while self.stats_values is None and time.monotonic() < deadline:
            self.pump(50)
        # The bindings give session_stats_alert.values as a dict of metric name -> value.
        utp = {name.split(".", 1)[1]: value for name, value in (self.stats_values or {}).items() if name.startswith("utp.")}
        uploaded = self.handle.status().total_payload_upload if self.handle else 0
        emit(event="stats", cpu=cpu_seconds() - self.cpu0, peakRss=peak_rss(), uploaded=uploaded, utp=utp)


def read_stdin(commands):
    for line in sys.stdin:
        line = line.strip()
        if line:
            commands.put(line)
    commands.put("stop")


def main():
    mode, torrent_file, save_dir = sys.argv[1:4]
    socket_buffer = int(sys.argv[4]) if len(sys.argv) > 4 else 4 * 1024 * 1024
    if mode not in ("seed", "leech"):
        raise ValueError("usage: seed|leech <file.torrent> <dir> [socket-buffer-bytes]")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    peer = Peer(mode, torrent_file, save_dir, socket_buffer)
    peer.start()
    commands = queue.Queue()
    threading.Thread(target=read_stdin, args=(commands,), daemon=True).start()
    next_progress = None
    while not stopping.is_set():
        try:
            line = commands.get_nowait()
        except queue.Empty:
            line = None
        if line is not None:
            command, _, rest = line.partition(" ")
            if command == "stop":
                break
            if command == "stats":
                peer.stats()
            elif command == "go" and mode == "leech" and peer.handle is None:
                peer.go(json.loads(rest))
                next_progress = time.monotonic() + 1
        peer.pump(10)
        if peer.torrent_error:
            emit(event="error", message=peer.torrent_error)
            peer.torrent_error = None
        if mode == "leech" and peer.handle is not None and not peer.done:
            now = time.monotonic()
            if peer.handle.status().is_seeding:
                peer.done = True
                complete = peer.report("complete")
                complete.update(ms=(now - peer.t0) * 1000, cpu=cpu_seconds() - peer.cpu0, peakRss=peak_rss())
                emit(**complete)
            elif now >= next_progress:
                next_progress += 1
                emit(**peer.report("progress"))
    del peer  # closes the session: libtorrent flushes and closes its files


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # every failure as one JSON line for the benchmark
        emit(event="error", message="%s: %s" % (type(error).__name__, error))
        sys.exit(1)

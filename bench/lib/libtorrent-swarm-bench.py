#!/usr/bin/python3
"""libtorrent -> libtorrent loopback transfer for the swarm benchmark (bench/lib/swarm-libtorrent.ts).

usage: libtorrent-swarm-bench.py <file.torrent> <seed-dir> <leech-dir>

Two libtorrent sessions in this one process (libtorrent does its network, disk and hashing work on
its own threads, so the GIL is not in the data path). Both start from libtorrent's own
`high_performance_seed()` settings pack, with loopback-only listening, no DHT/LSD/UPnP/NAT-PMP,
TCP only (uTP off), and several connections per IP allowed. The seed checks its data fully before
the clock starts (as warren's seed trusts data it just hashed). The clock runs from adding the
torrent to the leecher (with the seed as its peer) until the leecher has every piece verified.

Prints JSON lines: {"event":"settings",...}, then {"event":"complete","ms","bytes","cpu",
"peakRss"} (cpu: user+system seconds of the whole process, both sessions, during the transfer),
or {"event":"error","message"}.
"""
import json
import resource
import sys
import time

import libtorrent as lt


def emit(**event):
    print(json.dumps(event), flush=True)


def settings():
    pack = lt.high_performance_seed()
    pack.update({
        'listen_interfaces': '127.0.0.1:0',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_outgoing_utp': False,
        'enable_incoming_utp': False,
        'allow_multiple_connections_per_ip': True,
        'hashing_threads': 2,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    })
    return pack


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wait_for(handle, predicate, what, timeout):
    deadline = time.monotonic() + timeout
    while not predicate(handle.status()):
        if time.monotonic() > deadline:
            s = handle.status()
            raise RuntimeError(f'{what}: timed out in state {s.state}, {s.num_pieces} pieces, {s.num_peers} peers, error {s.errc.message()}')
        time.sleep(0.01)


def main():
    torrent_file, seed_dir, leech_dir = sys.argv[1:4]
    ti = lt.torrent_info(torrent_file)
    pack = settings()
    emit(event='settings', version=lt.__version__, **{k: pack[k] for k in (
        'send_buffer_watermark', 'send_buffer_low_watermark', 'max_out_request_queue',
        'max_queued_disk_bytes', 'aio_threads', 'hashing_threads', 'enable_outgoing_utp')})
    seed = lt.session(pack)
    leech = lt.session(pack)

    sp = lt.add_torrent_params()
    sp.ti = ti
    sp.save_path = seed_dir
    sh = seed.add_torrent(sp)
    wait_for(sh, lambda s: s.is_seeding, 'seed check', 300)

    cpu0 = cpu_seconds()
    t0 = time.monotonic()
    lp = lt.add_torrent_params()
    lp.ti = lt.torrent_info(torrent_file)
    lp.save_path = leech_dir
    lh = leech.add_torrent(lp)
    lh.connect_peer(('127.0.0.1', seed.listen_port()))
    wait_for(lh, lambda s: s.is_seeding, 'leech', 1800)
    ms = (time.monotonic() - t0) * 1000
    emit(event='complete', ms=ms, bytes=ti.total_size(), cpu=cpu_seconds() - cpu0,
         peakRss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    del lh, sh
    del leech, seed


if __name__ == '__main__':
    try:
        main()
    except Exception as error:  # report every failure as one JSON line for the benchmark
        emit(event='error', message=f'{type(error).__name__}: {error}')
        sys.exit(1)

#!/usr/bin/python3
"""libtorrent's full check of a torrent's data, for the check benchmark (bench/check.ts).

usage: libtorrent-check-bench.py <file.torrent> <save-dir> <hashing-threads> <repeat>

One session, loopback-only listening, no DHT/LSD/UPnP/NAT-PMP, `hashing_threads` as given
(libtorrent's default is 1). Each round adds the torrent (no resume data, so every piece is
checked), waits until it seeds, and removes it again. The clock runs from add_torrent until the
torrent reports itself a seed.

Prints JSON lines: {"event":"settings","version","hashingThreads"}, then one
{"event":"checked","ms","cpu","pieces"} per round (cpu: user+system seconds of the process during
the check), or {"event":"error","message"}.
"""
import json
import resource
import sys
import time

import libtorrent as lt


def emit(**event):
    print(json.dumps(event), flush=True)


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    torrent, save_dir, threads, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ses = lt.session({
        'listen_interfaces': '127.0.0.1:0',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'hashing_threads': threads,
        'alert_mask': lt.alert.category_t.error_notification,
    })
    emit(event='settings', version=lt.__version__, hashingThreads=ses.get_settings()['hashing_threads'])
    info = lt.torrent_info(torrent)
    for _ in range(repeat):
        params = lt.add_torrent_params()
        params.ti = info
        params.save_path = save_dir
        cpu0 = cpu_seconds()
        t0 = time.monotonic()
        handle = ses.add_torrent(params)
        deadline = t0 + 600
        while not handle.status().is_seeding:
            s = handle.status()
            if s.errc.value() != 0:
                raise RuntimeError(f'check failed: {s.errc.message()}')
            if time.monotonic() > deadline:
                raise RuntimeError(f'check timed out in state {s.state} at {s.progress:.2f}')
            time.sleep(0.002)
        ms = (time.monotonic() - t0) * 1000
        emit(event='checked', ms=ms, cpu=cpu_seconds() - cpu0, pieces=handle.status().num_pieces)
        ses.remove_torrent(handle)
        while ses.get_torrents():
            time.sleep(0.01)


if __name__ == '__main__':
    try:
        main()
    except Exception as error:  # reported to the benchmark, which fails with the message
        emit(event='error', message=str(error))
        sys.exit(1)

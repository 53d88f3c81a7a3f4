/**
 * `node dist/test/interop/tracker-process.js serve <host>`: the test tracker (swarm-tracker.ts) in a
 * process of its own, so that it can run inside a `TestNamespace` (IPv6 interop tests) while the
 * test stays outside. It prints one JSON line `{"event":"ready","url":...}` once it listens, then
 * `{"event":"announce","announceEvent":...,...}` (an `Announce`, its `event` as `announceEvent`) for each announce, and exits at the end of stdin.
 * Without `serve` it does nothing (the test runner loads every file under dist/test/ as a test).
 */
import { TestTracker } from './swarm-tracker.js';

if (process.argv[2] === 'serve') await serve(process.argv[3] ?? '127.0.0.1');

async function serve(host: string): Promise<void> {
  const tracker = await TestTracker.start(host);
  const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  print({ event: 'ready', url: tracker.url });
  let seen = 0;
  const report = async (): Promise<void> => {
    for (;;) {
      await tracker.nextAnnounce(() => tracker.announces.length > seen);
      for (; seen < tracker.announces.length; seen++) print({ ...tracker.announces[seen], event: 'announce', announceEvent: tracker.announces[seen]!.event });
    }
  };
  void report();
  process.stdin.resume();
  process.stdin.on('end', () => void tracker.close().then(() => process.exit(0)));
}

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NodeError } from '../../src/node/errors.js';
import { createLogger, formatLogLine } from '../../src/node/logger.js';

/** A terminal that keeps what is written to it. */
function fakeTerminal(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  test('the file gets every level as JSON lines; the terminal readable lines at its level', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-log-'));
    try {
      const file = join(dir, 'logs', 'node.log');
      const terminal = fakeTerminal();
      const { logger, log, close } = createLogger({ file, terminalLevel: 'warn', terminal: terminal.stream });
      log('debug', 'first debug');
      log('info', 'some info');
      log('warn', 'a warning');
      logger.error({ peer: '127.0.0.1:6881' }, 'an error');
      await close();
      await close();
      log('error', 'after close'); // ignored

      const records = (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(records.map((r) => [r['level'], r['msg']]), [[20, 'first debug'], [30, 'some info'], [40, 'a warning'], [50, 'an error']]);
      assert.equal(typeof records[0]!['time'], 'number');
      assert.equal(records[3]!['peer'], '127.0.0.1:6881');

      const lines = terminal.text().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0]!, /^\d\d:\d\d:\d\d WARN a warning$/);
      assert.match(lines[1]!, /^\d\d:\d\d:\d\d ERROR an error peer="127\.0\.0\.1:6881"$/);
      assert.equal(lines[2], '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('terminal level debug shows everything; an unopenable file is a CONFIG error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-log-'));
    try {
      const terminal = fakeTerminal();
      const { log, close } = createLogger({ file: join(dir, 'a.log'), terminalLevel: 'debug', terminal: terminal.stream });
      log('debug', 'd');
      log('info', 'i');
      await close();
      assert.match(terminal.text(), /^\d\d:\d\d:\d\d DEBUG d\n\d\d:\d\d:\d\d INFO i\n$/);
      assert.throws(() => createLogger({ file: dir, terminalLevel: 'info', terminal: terminal.stream }), (error: unknown) => error instanceof NodeError && error.code === 'CONFIG' && error.message.includes('cannot open the log file'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('formatLogLine uses local time and shows error messages', () => {
    const time = new Date(2024, 0, 2, 3, 4, 5).getTime();
    assert.equal(formatLogLine({ level: 30, time, msg: 'hello', pid: 1, hostname: 'h' }), '03:04:05 INFO hello\n');
    assert.equal(formatLogLine({ level: 50, time, msg: 'failed', err: { type: 'Error', message: 'boom', stack: '...' } }), '03:04:05 ERROR failed err=boom\n');
  });
});

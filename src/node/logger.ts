/**
 * The long-running node's log: every record (debug and up) as a pino JSON line in a file, and the
 * records at or above the terminal level as readable lines (`HH:MM:SS LEVEL message`, local time)
 * on the terminal. Created once by `warren node` at start; the engines log through `log`, whose
 * shape matches their `log(level, message)` option.
 */
import { openSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import type { LogLevelName } from './config.js';
import { NodeError } from './errors.js';

export interface LoggerOptions {
  /** The JSON-lines log file (appended to; its directory is created). */
  file: string;
  /** Lowest level written to the terminal. */
  terminalLevel: LogLevelName;
  /** Default: process.stderr. */
  terminal?: NodeJS.WritableStream;
}

export interface NodeLogger {
  logger: Logger;
  /** Adapter for the engines' `log(level, message)` callbacks; a no-op once closed. */
  log(level: LogLevelName, message: string): void;
  /** Flushes the file and closes it (idempotent); the terminal stream is left open. */
  close(): Promise<void>;
}

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg']);
const two = (n: number): string => String(n).padStart(2, '0');

/** One pino record as a terminal line (with its newline); extra fields follow as `key=value`. */
export function formatLogLine(record: Record<string, unknown>): string {
  const time = new Date(typeof record['time'] === 'number' ? record['time'] : Date.now());
  const level = typeof record['level'] === 'number' ? (LABELS[record['level']] ?? String(record['level'])) : 'LOG';
  let line = `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())} ${level} ${typeof record['msg'] === 'string' ? record['msg'] : ''}`;
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key)) continue;
    const message = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['message'] : undefined;
    line += ` ${key}=${typeof message === 'string' ? message : JSON.stringify(value)}`;
  }
  return `${line.trimEnd()}\n`;
}

/**
 * Opens the log file (synchronously, so a bad path throws `NodeError('CONFIG', …)` here rather
 * than later) and returns the logger. Writes to the file are asynchronous and buffered; `close`
 * flushes them. A write error on the file is reported once on the terminal, not thrown.
 */
export function createLogger(options: LoggerOptions): NodeLogger {
  const terminal = options.terminal ?? process.stderr;
  let fd: number;
  try {
    mkdirSync(dirname(options.file), { recursive: true });
    fd = openSync(options.file, 'a');
  } catch (error) {
    throw new NodeError('CONFIG', `${options.file}: cannot open the log file: ${(error as Error).message}`);
  }
  const file = pino.destination({ dest: fd, sync: false });
  let fileFailed = false;
  file.on('error', (error: Error) => {
    if (fileFailed) return;
    fileFailed = true;
    terminal.write(`log file ${options.file} failed: ${error.message}\n`);
  });
  const readable = {
    write(chunk: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(chunk) as Record<string, unknown>;
      } catch {
        record = { msg: chunk.trimEnd() }; // not JSON (cannot happen with pino): show it as it is
      }
      terminal.write(formatLogLine(record));
    },
  };
  const streams = pino.multistream([
    { level: 'debug', stream: file },
    { level: options.terminalLevel, stream: readable },
  ]);
  const logger = pino({ level: 'debug' }, streams);
  let closed: Promise<void> | undefined;
  return {
    logger,
    log: (level, message) => {
      if (!closed) logger[level](message);
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        file.once('close', () => resolve());
        file.once('error', () => resolve()); // already reported on the terminal
        file.end();
      });
      return closed;
    },
  };
}

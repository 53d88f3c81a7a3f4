/**
 * Where a node keeps its state (state database, config.json, logs, downloads by default). The CLI
 * resolves it once at start with `resolveDataDir` and hands it to `loadConfig` and the wiring.
 */
import { homedir } from 'node:os';
import { posix, resolve, win32 } from 'node:path';

/**
 * The platform's conventional data directory for warren:
 *   - Linux and others: `$XDG_DATA_HOME/warren` when XDG_DATA_HOME is an absolute path (the XDG
 *     spec says to ignore a relative one), else `~/.local/share/warren`;
 *   - macOS: `~/Library/Application Support/warren`;
 *   - Windows: `%LOCALAPPDATA%\warren`, else `~\AppData\Local\warren`.
 * Pure: reads nothing but its arguments (the defaults are the current process's).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') {
    const local = env['LOCALAPPDATA'];
    return local && win32.isAbsolute(local) ? win32.join(local, 'warren') : win32.join(home, 'AppData', 'Local', 'warren');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'warren');
  const xdg = env['XDG_DATA_HOME'];
  return xdg && posix.isAbsolute(xdg) ? posix.join(xdg, 'warren') : posix.join(home, '.local', 'share', 'warren');
}

/**
 * The data directory to use: the `--data-dir` flag, else `$WARREN_DATA_DIR`, else
 * `defaultDataDir`; always absolute (a relative one is taken from the current directory).
 * Empty values count as not given.
 */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  const fromEnv = env['WARREN_DATA_DIR'];
  if (fromEnv) return resolve(fromEnv);
  return resolve(defaultDataDir(env));
}

/**
 * Errors of the swarm layer. Each has a stable `code`.
 */

/** A peer, torrent or session failure with a stable code (e.g. 'HANDSHAKE', 'SELF', 'PROTOCOL'). */
export class SwarmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The peer closed the connection before answering (it may still answer on another transport). */
    readonly peerClosed = false,
  ) {
    super(message);
    this.name = 'SwarmError';
  }
}

/** Stable codes of `StorageError`. */
export type StorageErrorCode = 'DISK_FULL' | 'PERMISSION' | 'MISSING_FILE' | 'IO';

/**
 * A torrent data file could not be read or written (raised by `TorrentStorage`). The engine pauses
 * the torrent on it; nothing already verified is lost. `message` is one line naming the file;
 * `cause` is the underlying file-system error.
 */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    /** The file the error is about. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/**
 * Write tokens for `announce_peer` and BEP 44 `put` (BEP 5): a `get_peers`/`get` reply carries a
 * token bound to the asker's IP; a later write from that IP must present it. The secret rotates
 * every 5 minutes and the previous secret is still accepted, so a token lives 5 to 10 minutes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const TOKEN_ROTATION_MS = 5 * 60 * 1000;
const TOKEN_LENGTH = 8;

export class TokenManager {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(private readonly deps: { now(): number; randomBytes(n: number): Uint8Array }) {
    this.current = deps.randomBytes(16);
    this.previous = this.current;
    this.rotatedAt = deps.now();
  }

  /** The token to hand to `host` now. */
  issue(host: string): Uint8Array {
    this.maybeRotate();
    return tokenFor(this.current, host);
  }

  /** Whether `token` was issued to `host` under the current or the previous secret. */
  verify(host: string, token: Uint8Array): boolean {
    this.maybeRotate();
    if (token.length !== TOKEN_LENGTH) return false;
    return same(token, tokenFor(this.current, host)) || same(token, tokenFor(this.previous, host));
  }

  private maybeRotate(): void {
    const now = this.deps.now();
    if (now - this.rotatedAt < TOKEN_ROTATION_MS) return;
    // After a long idle period both secrets are stale: rotate twice so old tokens die.
    this.previous = now - this.rotatedAt >= 2 * TOKEN_ROTATION_MS ? this.deps.randomBytes(16) : this.current;
    this.current = this.deps.randomBytes(16);
    this.rotatedAt = now;
  }
}

function tokenFor(secret: Uint8Array, host: string): Uint8Array {
  return createHash('sha1').update(secret).update(host).digest().subarray(0, TOKEN_LENGTH);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

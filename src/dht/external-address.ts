/**
 * Our external IPv4 address as other nodes report it (the `ip` field of BEP 42 responses). Each
 * reporting host has one vote (its latest); the address with a clear majority of at least
 * MIN_VOTES wins. Bounded to the latest MAX_VOTERS voters.
 */
const MIN_VOTES = 3;
const MAX_VOTERS = 64;

export class ExternalAddressVotes {
  private readonly votes = new Map<string, string>();

  add(voter: string, address: string): void {
    this.votes.delete(voter);
    this.votes.set(voter, address);
    if (this.votes.size > MAX_VOTERS) this.votes.delete(this.votes.keys().next().value as string);
  }

  /** The address more than half of the voters report, if at least MIN_VOTES do. */
  winner(): string | undefined {
    const tally = new Map<string, number>();
    for (const address of this.votes.values()) tally.set(address, (tally.get(address) ?? 0) + 1);
    for (const [address, count] of tally) {
      if (count >= MIN_VOTES && count * 2 > this.votes.size) return address;
    }
    return undefined;
  }
}

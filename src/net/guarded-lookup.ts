import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { AddressPolicy } from './address-policy.js';

/** Thrown from the DNS hook (and for IP literals) when an address is not one we may connect to. */
export class BlockedAddressError extends Error {
  constructor(readonly address: string) {
    super(`resolves to a private or reserved address (${address}), which is not allowed`);
    this.name = 'BlockedAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * net.connect's lookup hook under `policy`: resolves every address, refuses the name if any of them
 * is blocked (a round-robin name must not get a second chance on a private address), and hands back
 * only the checked addresses, which are the ones the socket connects to.
 */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!policy.isHostAllowed(hostname)) {
        for (const { address } of addresses) {
          const verdict = policy.checkAddress(address);
          if (!verdict.allowed) return callback(new BlockedAddressError(verdict.address), []);
        }
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** The first error in `err`'s cause chain that matches (undici wraps socket errors a few levels deep). */
export function findCause<T>(err: unknown, match: (e: unknown) => e is T): T | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (match(e)) return e;
  }
  return undefined;
}

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Every global unicast IPv6 address is in 2000::/3; anything outside it is special or unallocated. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

export type AddressVerdict = { allowed: true } | { allowed: false; address: string; range: string };

/**
 * Decides which addresses media may be fetched from (README: Media): only public unicast ones, unless the
 * operator opened an exception with VIDGATE_MEDIA_ALLOW_HOSTS (host names, `*.suffix` patterns, IPs
 * and CIDRs). The check runs on resolved addresses, so a public name that resolves to 10.0.0.1 is
 * refused as surely as the literal.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly cidrs: Array<[Address, number]> = [];

  constructor(allow: readonly string[] = []) {
    for (const raw of allow) this.addException(raw.trim().toLowerCase());
  }

  private addException(entry: string): void {
    if (!entry) return;
    const bare = stripBrackets(entry);
    if (ipaddr.isValidCIDR(bare)) this.cidrs.push(ipaddr.parseCIDR(bare));
    else if (isIP(bare)) {
      const ip = ipaddr.parse(bare);
      this.cidrs.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
    else this.hosts.add(entry.replace(/\.$/, ''));
  }

  /** True when the operator allowed this host name outright (its addresses are then not checked). */
  isHostAllowed(hostname: string): boolean {
    const name = stripBrackets(hostname.toLowerCase()).replace(/\.$/, '');
    return this.hosts.has(name) || this.suffixes.some((suffix) => name.endsWith(suffix));
  }

  /** Checks one IP address (v4 or v6, IPv4-mapped forms are judged as the v4 address they carry). */
  checkAddress(address: string): AddressVerdict {
    const bare = stripBrackets(address);
    if (!ipaddr.isValid(bare)) return { allowed: false, address: bare, range: 'invalid' };
    const ip = ipaddr.process(bare);
    if (this.cidrs.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) return { allowed: true };
    const range = rangeOf(ip);
    return range === 'unicast' ? { allowed: true } : { allowed: false, address: bare, range };
  }
}

/** ipaddr.js's range name, but IPv6 outside 2000::/3 (e.g. the deprecated ::127.0.0.1 form) is 'reserved'. */
function rangeOf(ip: Address): string {
  const range = ip.range();
  if (range === 'unicast' && ip.kind() === 'ipv6' && !ip.match(IPV6_GLOBAL_UNICAST)) return 'reserved';
  return range;
}

/** `[::1]` → `::1`; URL.hostname keeps the brackets of IPv6 literals. */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

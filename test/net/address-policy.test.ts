import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/net/address-policy.js';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '240.0.0.1',
    '192.0.2.10',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:db8::1',
    '[::1]',
  ])('refuses %s', (address) => {
    expect(policy.checkAddress(address).allowed).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(policy.checkAddress(address)).toEqual({ allowed: true });
  });

  it('names the address it refused, as the plain v4 for a mapped one', () => {
    expect(policy.checkAddress('::ffff:10.0.0.1')).toMatchObject({ allowed: false, address: '::ffff:10.0.0.1', range: 'private' });
    expect(policy.checkAddress('169.254.169.254')).toMatchObject({ allowed: false, range: 'linkLocal' });
  });

  it('opens exceptions for IPs, CIDRs and host names', () => {
    const open = new AddressPolicy(['127.0.0.1', '10.1.0.0/16', 'fd00::/8', 'media.intranet', '*.corp.example', ' ']);
    expect(open.checkAddress('127.0.0.1').allowed).toBe(true);
    expect(open.checkAddress('::ffff:127.0.0.1').allowed).toBe(true);
    expect(open.checkAddress('127.0.0.2').allowed).toBe(false);
    expect(open.checkAddress('10.1.200.3').allowed).toBe(true);
    expect(open.checkAddress('10.2.0.1').allowed).toBe(false);
    expect(open.checkAddress('fd00::5').allowed).toBe(true);
    expect(open.isHostAllowed('media.intranet')).toBe(true);
    expect(open.isHostAllowed('MEDIA.intranet.')).toBe(true);
    expect(open.isHostAllowed('cdn.corp.example')).toBe(true);
    expect(open.isHostAllowed('corp.example.evil')).toBe(false);
    expect(open.isHostAllowed('localhost')).toBe(false);
  });
});

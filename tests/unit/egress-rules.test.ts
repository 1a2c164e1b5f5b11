import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EgressAllow, EgressDestination } from '../../edge/contract/src/egress.ts';
import { WorkloadSpecPayload } from '../../edge/contract/src/jobs.ts';
import { CLOSED_RANGES, egressRules } from '../../runners/src/workloads/egress-rules.ts';
import { REFUSED_SYSCALLS, seccompFilter } from '../../runners/src/workloads/seccomp.ts';
import { validateSpec, WorkloadError } from '../../runners/src/workloads/types.ts';

describe('egress destinations (contract)', () => {
  it('accepts IPv4 CIDRs, optionally with a port', () => {
    for (const ok of [
      '10.1.2.0/24',
      '10.1.2.3/32:5432',
      '0.0.0.0/0',
      '192.168.0.0/16:65535',
      '172.16.5.4/32',
    ]) {
      assert.equal(EgressDestination.safeParse(ok).success, true, ok);
    }
  });

  it('refuses anything else: no prefix, bad octets, host bits, ports out of range, IPv6, names', () => {
    for (const bad of [
      '10.1.2.3',
      '10.1.2.256/32',
      '10.1.2.3/33',
      '10.1.2.3/24',
      '10.1.2.0/24:0',
      '10.1.2.0/24:65536',
      '10.1.2.0/24:080',
      '01.1.2.0/24',
      '::1/128',
      'example.com/32',
      '10.1.2.0/24 ',
      '10.1.2.0/24:22;drop',
    ]) {
      assert.equal(EgressDestination.safeParse(bad).success, false, bad);
    }
    assert.equal(EgressAllow.safeParse(Array.from({ length: 65 }, () => '10.0.0.0/8')).success, false);
  });

  it('is the workload spec field egressAllow, optional', () => {
    const base = { cpus: 1, memoryMb: 256, network: true };
    assert.equal(WorkloadSpecPayload.safeParse(base).success, true);
    assert.deepEqual(WorkloadSpecPayload.parse({ ...base, egressAllow: ['10.0.0.0/8:443'] }).egressAllow, [
      '10.0.0.0/8:443',
    ]);
    assert.equal(WorkloadSpecPayload.safeParse({ ...base, egressAllow: ['10.0.0.1/8'] }).success, false);
  });

  it('is checked again by the runner before a driver sees it', () => {
    const spec = {
      workspaceId: 'w1',
      cpus: 1,
      memoryMb: 64,
      network: true,
      storage: { kind: 'volume' as const },
    };
    validateSpec({ ...spec, egressAllow: ['10.2.0.0/16'] });
    assert.throws(
      () => validateSpec({ ...spec, egressAllow: ['10.2.0.0/16; flush ruleset'] }),
      (e: unknown) => e instanceof WorkloadError && e.code === 'INVALID_SPEC',
    );
  });
});

describe('egress rules', () => {
  const lines = (s: string) => s.split('\n').map((l) => l.trim());

  it('replaces its own table whole, so that running it again refreshes the rules', () => {
    const script = egressRules({ hostAddresses: [], allow: [] });
    assert.deepEqual(lines(script).slice(0, 3), [
      'table inet keel_egress',
      'delete table inet keel_egress',
      'table inet keel_egress {',
    ]);
    assert.match(script, /type filter hook output priority 0; policy accept;/);
  });

  it('orders loopback, IPv6, the host and the gateway, DNS, the admin’s list, then the closed ranges', () => {
    const rules = lines(
      egressRules({
        hostAddresses: ['192.0.2.2', '198.51.100.7', '192.0.2.2'],
        allow: ['10.1.0.0/16', '10.2.0.5/32:5432'],
      }),
    ).filter((l) => l.startsWith('ip ') || l.startsWith('meta ') || l.startsWith('oifname'));
    assert.deepEqual(rules, [
      'oifname "lo" accept',
      'meta nfproto ipv6 drop',
      'ip daddr 10.0.2.2 drop',
      'ip daddr 192.0.2.2 drop',
      'ip daddr 198.51.100.7 drop',
      'ip daddr 10.0.2.3 meta l4proto { tcp, udp } th dport 53 accept',
      'ip daddr 10.1.0.0/16 accept',
      'ip daddr 10.2.0.5/32 meta l4proto { tcp, udp } th dport 5432 accept',
      ...CLOSED_RANGES.map((r) => `ip daddr ${r} drop`),
    ]);
  });

  it('closes private, link-local, loopback, multicast and reserved space', () => {
    for (const r of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '169.254.0.0/16',
      '127.0.0.0/8',
      '100.64.0.0/10',
    ]) {
      assert.ok(CLOSED_RANGES.includes(r), r);
    }
  });
});

describe('seccomp filter', () => {
  const insns = (buf: Buffer) =>
    Array.from({ length: buf.length / 8 }, (_, i) => ({
      code: buf.readUInt16LE(i * 8),
      jt: buf.readUInt8(i * 8 + 2),
      jf: buf.readUInt8(i * 8 + 3),
      k: buf.readUInt32LE(i * 8 + 4),
    }));

  it('checks the architecture first and kills on any other', () => {
    const p = insns(seccompFilter());
    assert.deepEqual(p[0], { code: 0x20, jt: 0, jf: 0, k: 4 });
    assert.equal(p[1]?.code, 0x15);
    assert.equal(p[1]?.k, 0xc000003e);
    const kill = p[2 + (p[1]?.jf ?? 0)];
    assert.deepEqual(kill, { code: 0x06, jt: 0, jf: 0, k: 0x80000000 });
  });

  it('refuses each listed syscall with EPERM, and every jump stays inside the program', () => {
    const p = insns(seccompFilter());
    for (const [name, nr] of Object.entries(REFUSED_SYSCALLS)) {
      const i = p.findIndex((x) => x.code === 0x15 && x.k === nr);
      assert.ok(i > 0, name);
      assert.deepEqual(p[i + 1 + (p[i]?.jt ?? 0)], { code: 0x06, jt: 0, jf: 0, k: 0x00050001 }, name);
    }
    p.forEach((x, i) => {
      if ((x.code & 0x07) === 0x05) assert.ok(i + 1 + Math.max(x.jt, x.jf) < p.length);
    });
    assert.equal(p.at(-1)?.code, 0x06, 'ends with a return');
  });
});

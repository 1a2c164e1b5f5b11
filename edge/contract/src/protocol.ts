import { z } from 'zod';
import { CONTRACT_VERSION } from './version.ts';

/** A runner ↔ edge protocol version: majors break, minors only add (docs/PROTOCOL.md). */
export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** What this build speaks. Raise the minor for each addition, and say what it added in docs/PROTOCOL.md. */
export const PROTOCOL: ProtocolVersion = Object.freeze({ major: CONTRACT_VERSION, minor: 3 });

/** What a runner that sends no `protocol` speaks: it predates negotiation. */
export const PROTOCOL_UNSTATED: ProtocolVersion = Object.freeze({ major: 1, minor: 0 });

/** `"<major>.<minor>"`, each a decimal without leading zeros. */
export const ProtocolVersionString = z
  .string()
  .max(13)
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'a version "<major>.<minor>", e.g. "1.1"');

export function parseProtocol(text: string): ProtocolVersion {
  const [major, minor] = ProtocolVersionString.parse(text).split('.').map(Number);
  return { major: major!, minor: minor! };
}

export function formatProtocol(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

export type Negotiation = { ok: true; agreed: ProtocolVersion } | { ok: false; message: string };

/**
 * Same major: agreed at the lower minor, so each side uses only what both speak. Another
 * major: refused, saying what each side speaks so an operator knows which to upgrade.
 */
export function negotiate(
  ours: ProtocolVersion,
  theirs: ProtocolVersion,
  names: { ours: string; theirs: string } = { ours: 'this edge', theirs: 'the runner' },
): Negotiation {
  if (ours.major === theirs.major) {
    return { ok: true, agreed: { major: ours.major, minor: Math.min(ours.minor, theirs.minor) } };
  }
  return {
    ok: false,
    message: `${names.ours} speaks protocol ${ours.major}.x (up to ${formatProtocol(ours)}); ${names.theirs} speaks ${formatProtocol(theirs)}`,
  };
}

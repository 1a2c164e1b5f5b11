import { z } from 'zod';

/** Prefixed ids, so a log line says what an id is. The random part is 20 base32 characters. */
export const idPrefixes = {
  user: 'usr',
  organization: 'org',
  invitation: 'inv',
  tokenFamily: 'rtf',
  request: 'req',
  signingKey: 'key',
  runner: 'rnr',
  runnerToken: 'rtk',
  execution: 'exe',
  workspace: 'ws',
  job: 'job',
  aiStream: 'ais',
  terminal: 'trm',
} as const;
export type IdKind = keyof typeof idPrefixes;

const ID_BODY = /^[a-z2-7]{20}$/;

export function idSchema(kind: IdKind) {
  const prefix = `${idPrefixes[kind]}_`;
  return z.string().refine((s) => s.startsWith(prefix) && ID_BODY.test(s.slice(prefix.length)), {
    message: `must be a ${kind} id (${prefix}…)`,
  });
}

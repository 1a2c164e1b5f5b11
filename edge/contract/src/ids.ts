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
  server: 'srv',
  snapshot: 'snp',
  placement: 'plc',
  accessToken: 'pat',
  identityProvider: 'idp',
  gitCredential: 'gcr',
  search: 'sch',
  lspConnection: 'lsp',
} as const;
export type IdKind = keyof typeof idPrefixes;

const ID_BODY = /^[a-z2-7]{20}$/;

const schemas = new Map<IdKind, z.ZodType<string>>();

/** One schema per kind, made once: routes check ids on every request. */
export function idSchema(kind: IdKind): z.ZodType<string> {
  let schema = schemas.get(kind);
  if (!schema) {
    const prefix = `${idPrefixes[kind]}_`;
    schema = z.string().refine((s) => s.startsWith(prefix) && ID_BODY.test(s.slice(prefix.length)), {
      message: `must be a ${kind} id (${prefix}…)`,
    });
    schemas.set(kind, schema);
  }
  return schema;
}

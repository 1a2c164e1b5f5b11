import { z } from 'zod';
import { errorResponses, json, publicAccess } from './describe.ts';

export const HealthResponse = z.object({ status: z.literal('ok') });
export const ReadyResponse = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: z.literal('ok'), redis: z.literal('ok') }),
});
/** RFC 7517 key set: the public halves of the access-token signing keys. */
export const JwksResponse = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') })),
});

const tags = ['system'];

export const systemRoutes = {
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'The process answers',
    tags,
    access: publicAccess,
    responses: { 200: json(HealthResponse, 'Alive'), ...errorResponses },
  },
  readyz: {
    method: 'get',
    path: '/readyz',
    summary: 'The database and Redis both answer',
    tags,
    access: publicAccess,
    responses: { 200: json(ReadyResponse, 'Ready'), ...errorResponses },
  },
  jwks: {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public keys that verify access tokens',
    tags,
    access: publicAccess,
    responses: { 200: json(JwksResponse, 'The key set'), ...errorResponses },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tags,
    access: publicAccess,
    responses: { 200: json(z.looseObject({ openapi: z.string() }), 'OpenAPI 3.1'), ...errorResponses },
  },
} as const;

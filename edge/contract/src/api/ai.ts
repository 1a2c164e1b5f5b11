import { z } from 'zod';
import { AiConfigResponse, ChatRequest, ExplainRequest, RewriteRequest } from '../ai.ts';
import { body, errorResponses, eventStream, json, needs, noContent, signedIn, userAuth } from './describe.ts';

export const AiStreamParams = z.object({ streamId: z.string().max(64) });
export const AiConfigQuery = z.object({ workspaceId: z.string().max(128).optional() });
export const AiCancelAccepted = z.object({ streamId: z.string(), cancelling: z.literal(true) });

const tags = ['ai'];
const security = userAuth;

function start(kind: 'explain' | 'rewrite' | 'chat', schema: z.ZodType, summary: string) {
  return {
    method: 'post',
    path: `/api/ai/${kind}`,
    summary,
    tags,
    access: needs('ai:use'),
    security,
    request: { body: body(schema) },
    responses: { 200: eventStream, ...errorResponses },
  } as const;
}

export const aiRoutes = {
  explain: start('explain', ExplainRequest, 'Explain a file or a range of it (answer streamed)'),
  rewrite: start('rewrite', RewriteRequest, 'Propose a rewrite as a patch (answer streamed)'),
  chat: start('chat', ChatRequest, 'Chat about a workspace (answer streamed)'),
  aiConfig: {
    method: 'get',
    path: '/api/ai/config',
    summary: 'Whether AI is on, and its model',
    tags,
    access: signedIn,
    security,
    request: { query: AiConfigQuery },
    responses: { 200: json(AiConfigResponse, 'The configuration'), ...errorResponses },
  },
  aiStreamEvents: {
    method: 'get',
    path: '/api/ai/streams/{streamId}/events',
    summary: 'Resume an AI answer from Last-Event-ID',
    tags,
    access: needs('ai:use'),
    security,
    request: { params: AiStreamParams },
    responses: { 200: eventStream, 204: noContent, ...errorResponses },
  },
  cancelAiStream: {
    method: 'post',
    path: '/api/ai/streams/{streamId}/cancel',
    summary: 'Stop an AI answer',
    tags,
    access: needs('ai:use'),
    security,
    request: { params: AiStreamParams },
    responses: { 202: json(AiCancelAccepted, 'Cancelling'), ...errorResponses },
  },
} as const;

import { z } from 'zod';
import { AiCallReport } from '../ai-jobs.ts';
import {
  RegisterRunnerRequest,
  RegisterRunnerResponse,
  RunnerCheckInRequest,
  RunnerCheckInResponse,
} from '../runners.ts';
import { UsageReportAnswer, UsageSampleReport } from '../usage.ts';
import { body, errorResponses, json, publicAccess, runnerAccess, runnerAuth } from './describe.ts';

/** A report counts once per stream: a retry is answered as a duplicate, recording nothing. */
export const AiReportResponse = z.object({ recorded: z.boolean(), duplicate: z.literal(true).optional() });

const tags = ['runners'];

export const runnerRoutes = {
  registerRunner: {
    method: 'post',
    path: '/api/runners/register',
    summary: 'Exchange a registration token for a runner credential',
    tags,
    access: publicAccess,
    request: { body: body(RegisterRunnerRequest) },
    responses: { 201: json(RegisterRunnerResponse, 'Registered'), ...errorResponses },
  },
  runnerCheckIn: {
    method: 'post',
    path: '/api/runners/check-in',
    summary: 'A runner’s periodic check-in',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { body: body(RunnerCheckInRequest, false) },
    responses: { 200: json(RunnerCheckInResponse, 'Still standing, or revoked'), ...errorResponses },
  },
  aiReport: {
    method: 'post',
    path: '/api/runners/ai-reports',
    summary: 'A runner’s summary of a finished model call',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { body: body(AiCallReport) },
    responses: { 200: json(AiReportResponse, 'Recorded, or a duplicate'), ...errorResponses },
  },
  usageReport: {
    method: 'post',
    path: '/api/runners/usage-reports',
    summary: 'What a runner’s workspaces used since its last report',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { body: body(UsageSampleReport) },
    responses: {
      200: json(UsageReportAnswer, 'The samples recorded; the workspaces not on this runner, refused'),
      ...errorResponses,
    },
  },
} as const;

import { z } from 'zod';
import { QuickOpenQuery, QuickOpenResponse, SearchRequest, SearchStarted } from '../search.ts';
import { WorkspaceIdParam } from '../workspaces.ts';
import { body, errorResponses, eventStream, json, needs, userAuth } from './describe.ts';

const params = WorkspaceIdParam;
const security = userAuth;
export const SearchParams = z.object({ id: z.string(), searchId: z.string() });

/** Quick open and search across files (see contract/search.ts). Reading: a viewer may use both. */
export const searchRoutes = {
  quickOpen: {
    method: 'get',
    path: '/api/workspaces/{id}/files/find',
    summary: 'File names matching a fuzzy query, best first, with the matched positions',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params, query: QuickOpenQuery },
    responses: { 200: json(QuickOpenResponse, 'The best matches'), ...errorResponses },
  },
  startSearch: {
    method: 'post',
    path: '/api/workspaces/{id}/search',
    summary: 'Start a search across the workspace’s files (ripgrep); results follow as events',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params, body: body(SearchRequest) },
    responses: { 202: json(SearchStarted, 'Started'), ...errorResponses },
  },
  searchEvents: {
    method: 'get',
    path: '/api/workspaces/{id}/search/{searchId}/events',
    summary: 'A search’s results (`file` events) and its end (`done`), as Server-Sent Events',
    tags: ['files'],
    access: needs('workspaces:read'),
    security,
    request: { params: SearchParams },
    responses: { 200: eventStream, ...errorResponses },
  },
} as const;

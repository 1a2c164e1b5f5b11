import {
  LdapLoginRequest,
  LdapLoginResponse,
  ProviderIdParam,
  ProviderListResponse,
  ProviderView,
  PublicProvidersResponse,
  SaveProviderRequest,
  TestProviderRequest,
  TestProviderResponse,
} from '../identity.ts';
import { body, errorResponses, json, noContent, userAuth } from './describe.ts';

const tags = ['sign-in'];
const manage = { kind: 'permission', permission: 'signin:manage' } as const;
const open = { kind: 'public' } as const;

/** Sign-in providers: the super admin's settings, and the public side the sign-in page uses. */
export const identityRoutes = {
  listProviders: {
    method: 'get',
    path: '/api/admin/sign-in/providers',
    summary: 'The organization’s sign-in providers (secrets are never shown)',
    tags,
    security: userAuth,
    access: manage,
    responses: { 200: json(ProviderListResponse, 'Providers, by name'), ...errorResponses },
  },
  saveProvider: {
    method: 'put',
    path: '/api/admin/sign-in/providers',
    summary: 'Add a sign-in provider, or change one (with `id`); the bind password is sealed',
    tags,
    security: userAuth,
    access: manage,
    request: { body: body(SaveProviderRequest) },
    responses: {
      200: json(ProviderView, 'Changed'),
      201: json(ProviderView, 'Added'),
      ...errorResponses,
    },
  },
  deleteProvider: {
    method: 'delete',
    path: '/api/admin/sign-in/providers/{id}',
    summary: 'Remove a sign-in provider (people it created keep their accounts)',
    tags,
    security: userAuth,
    access: manage,
    request: { params: ProviderIdParam },
    responses: { 204: noContent, ...errorResponses },
  },
  testProvider: {
    method: 'post',
    path: '/api/admin/sign-in/providers/{id}/test',
    summary: 'Bind with the service account and look a person up, as a sign-in would',
    tags,
    security: userAuth,
    access: manage,
    request: { params: ProviderIdParam, body: body(TestProviderRequest) },
    responses: { 200: json(TestProviderResponse, 'What the directory answered'), ...errorResponses },
  },
  publicProviders: {
    method: 'get',
    path: '/api/auth/providers',
    summary: 'Enabled sign-in providers: names, slugs and kinds for the sign-in page',
    tags,
    access: open,
    responses: { 200: json(PublicProvidersResponse, 'Providers'), ...errorResponses },
  },
  ldapLogin: {
    method: 'post',
    path: '/api/auth/ldap/login',
    summary: 'Sign in with a directory username and password (Node edge only)',
    tags,
    access: open,
    request: { body: body(LdapLoginRequest) },
    responses: { 200: json(LdapLoginResponse, 'Signed in'), ...errorResponses },
  },
} as const;

/**
 * A stand-in for GitHub's OAuth web flow and the REST endpoints a sign-in reads (GitHub itself
 * cannot be reached from the tests): `/login/oauth/authorize` approves at once as `nextLogin`,
 * `/login/oauth/access_token` checks the client secret, the code (once) and its PKCE verifier,
 * and `/user`, `/user/emails`, `/user/orgs`, `/user/teams` answer in GitHub's shapes for the
 * token's user. Named a stand-in wherever it is used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { freePort } from './ports.ts';

export interface StandinUser {
  id: number;
  login: string;
  name: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
  orgs: string[];
  /** `org/team-slug` */
  teams: string[];
}

export interface GitHubStandin {
  url: string;
  users: Map<string, StandinUser>;
  /** Who approves the next authorization request. */
  nextLogin: string;
  stop(): Promise<void>;
}

export async function startGitHubStandin(client: {
  clientId: string;
  clientSecret: string;
}): Promise<GitHubStandin> {
  const port = await freePort();
  const codes = new Map<string, { login: string; redirectUri: string; challenge: string | null }>();
  const tokens = new Map<string, string>();
  const standin: GitHubStandin = {
    url: `http://127.0.0.1:${port}`,
    users: new Map(),
    nextLogin: '',
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', standin.url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      if (url.searchParams.get('client_id') !== client.clientId)
        return json(404, { error: 'unknown client' });
      const code = randomBytes(10).toString('hex');
      codes.set(code, {
        login: standin.nextLogin,
        redirectUri,
        challenge: url.searchParams.get('code_challenge'),
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const form = new URLSearchParams(await text(req));
      const basic = req.headers.authorization?.startsWith('Basic ')
        ? Buffer.from(req.headers.authorization.slice(6), 'base64')
            .toString()
            .split(':')
            .map(decodeURIComponent)
        : [];
      const id = form.get('client_id') ?? basic[0];
      const secret = form.get('client_secret') ?? basic[1];
      // GitHub answers its errors with 200 and an `error` field; a stand-in does as it does.
      if (id !== client.clientId || secret !== client.clientSecret)
        return json(200, { error: 'incorrect_client_credentials' });
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      codes.delete(code);
      if (!grant || grant.redirectUri !== form.get('redirect_uri'))
        return json(200, { error: 'bad_verification_code' });
      const verifier = form.get('code_verifier') ?? '';
      if (grant.challenge && createHash('sha256').update(verifier).digest('base64url') !== grant.challenge)
        return json(200, { error: 'bad_verification_code', error_description: 'PKCE' });
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, grant.login);
      return json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email,read:org' });
    }
    const login = tokens.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
    const user = login ? standin.users.get(login) : undefined;
    if (!user) return json(401, { message: 'Bad credentials' });
    switch (url.pathname) {
      case '/user':
        return json(200, { id: user.id, login: user.login, name: user.name, type: 'User' });
      case '/user/emails':
        return json(
          200,
          user.emails.map((e) => ({ ...e, visibility: null })),
        );
      case '/user/orgs':
        return json(
          200,
          user.orgs.map((o, i) => ({ login: o, id: 1000 + i })),
        );
      case '/user/teams':
        return json(
          200,
          user.teams.map((t, i) => {
            const [org, slug] = t.split('/');
            return { id: 2000 + i, slug, name: slug, organization: { login: org, id: 1000 } };
          }),
        );
      default:
        return json(404, { message: 'Not Found' });
    }
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return standin;
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

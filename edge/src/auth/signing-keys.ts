import { signingKeys } from '@keel/drizzle/schema';
import { desc, gt } from 'drizzle-orm';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { newId } from '../ids.ts';
import { setBounded } from '../services/bounded-map.ts';
import type { Clock } from '../services/clock.ts';
import type { Database } from '../services/database.ts';
import type { SecretBox } from './secret-box.ts';

export const ACCESS_TOKEN_ALG = 'EdDSA';
export const ACCESS_TOKEN_AUDIENCE = 'keel-api';
const SEAL_PURPOSE = 'signing-key';
/** How long the key list may be served from memory before another instance's rotation shows. */
const CACHE_MS = 60_000;
/** Verified tokens remembered at once; past this the oldest is forgotten first. */
const MAX_VERIFIED = 10_000;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  sealedPrivate: string;
  signUntil: Date;
  verifyUntil: Date;
}

/** Plain data, no I/O objects: safe to keep across requests in workerd too. */
export interface KeyCache {
  keys?: LoadedKey[];
  loadedAt?: number;
  privateKeys: Map<string, CryptoKey>;
  /**
   * Tokens already verified, each until it expires: a client sends the same token with every
   * request for 15 minutes, and checking its signature again each time is most of the cost of
   * authenticating it. A token's claims cannot change, and keys outlive the tokens they signed.
   * Revocation does not depend on this: the session is checked on every request.
   */
  verified: Map<string, { payload: AccessClaims & JWTPayload; untilMs: number }>;
}
export const newKeyCache = (): KeyCache => ({ privateKeys: new Map(), verified: new Map() });

export interface AccessClaims {
  sub: string;
  org: string;
  sid: string;
  role: string;
}

export interface SigningKeyOptions {
  issuer: string;
  accessTokenTtlSeconds: number;
  rotateSeconds: number;
}

/**
 * Ed25519 access-token keys held in the database. A key signs for `rotateSeconds`, then a
 * fresh one takes over; the old one stays in the JWKS until every token it signed has
 * expired, so a rotation never fails a request.
 */
export class SigningKeyStore {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly cache: KeyCache,
    private readonly options: SigningKeyOptions,
  ) {}

  async sign(claims: AccessClaims): Promise<{ token: string; expiresIn: number }> {
    const key = await this.currentKey();
    const privateKey = await this.privateKeyFor(key);
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const ttl = this.options.accessTokenTtlSeconds;
    const token = await new SignJWT({ org: claims.org, sid: claims.sid, role: claims.role })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: 'at+jwt' })
      .setSubject(claims.sub)
      .setIssuer(this.options.issuer)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(privateKey);
    return { token, expiresIn: ttl };
  }

  /** Throws on any defect: wrong algorithm, unknown key, bad signature, issuer, audience or expiry. */
  async verify(token: string): Promise<AccessClaims & JWTPayload> {
    const known = this.remembered(token);
    if (known) return known;
    this.cache.verified.delete(token);
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        if (header.alg !== ACCESS_TOKEN_ALG || typeof header.kid !== 'string') {
          throw new Error('unexpected token header');
        }
        let key = (await this.keys()).find((k) => k.kid === header.kid);
        // Another instance may have just rotated: look once more, bypassing the cache.
        if (!key) key = (await this.keys(true)).find((k) => k.kid === header.kid);
        if (!key) throw new Error('unknown key id');
        return key.publicKey;
      },
      {
        algorithms: [ACCESS_TOKEN_ALG],
        issuer: this.options.issuer,
        audience: ACCESS_TOKEN_AUDIENCE,
        currentDate: this.clock.now(),
        maxTokenAge: this.options.accessTokenTtlSeconds + 5,
        requiredClaims: ['sub', 'exp', 'iat'],
      },
    );
    if (
      typeof payload.org !== 'string' ||
      typeof payload.sid !== 'string' ||
      typeof payload.sub !== 'string'
    ) {
      throw new Error('token is missing claims');
    }
    // Valid until the earlier of its expiry and the age limit above.
    const untilMs = Math.min(
      (payload.exp ?? 0) * 1000,
      ((payload.iat ?? 0) + this.options.accessTokenTtlSeconds + 5) * 1000,
    );
    setBounded(
      this.cache.verified,
      token,
      { payload: payload as AccessClaims & JWTPayload, untilMs },
      MAX_VERIFIED,
    );
    return payload as AccessClaims & JWTPayload;
  }

  /**
   * The claims of `token` if it was verified here before and has not expired since (what
   * `verify` answers without checking its signature again); undefined otherwise.
   */
  remembered(token: string): (AccessClaims & JWTPayload) | undefined {
    const known = this.cache.verified.get(token);
    return known && known.untilMs > this.clock.now().getTime() ? known.payload : undefined;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = await this.keys();
    return { keys: keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: ACCESS_TOKEN_ALG, use: 'sig' })) };
  }

  /** Makes a new key the signing key now (an operator's "rotate now"). */
  async rotate(): Promise<string> {
    const key = await this.createKey();
    this.cache.keys = undefined;
    return key.kid;
  }

  private async currentKey(): Promise<LoadedKey> {
    const now = this.clock.now();
    const usable = (await this.keys()).find((k) => k.signUntil > now);
    if (usable) return usable;
    const fresh = (await this.keys(true)).find((k) => k.signUntil > now);
    if (fresh) return fresh;
    const created = await this.createKey();
    this.cache.keys = undefined;
    return created;
  }

  private async keys(reload = false): Promise<LoadedKey[]> {
    const now = this.clock.now();
    if (
      !reload &&
      this.cache.keys &&
      this.cache.loadedAt !== undefined &&
      Date.now() - this.cache.loadedAt < CACHE_MS
    ) {
      return this.cache.keys.filter((k) => k.verifyUntil > now);
    }
    const rows = await this.db
      .select()
      .from(signingKeys)
      .where(gt(signingKeys.verifyUntil, now))
      .orderBy(desc(signingKeys.createdAt));
    const loaded: LoadedKey[] = [];
    for (const row of rows) {
      const publicJwk = row.publicJwk as JWK;
      loaded.push({
        kid: row.kid,
        publicJwk,
        publicKey: (await importJWK(publicJwk, ACCESS_TOKEN_ALG)) as CryptoKey,
        sealedPrivate: row.privateJwkEncrypted,
        signUntil: row.signUntil,
        verifyUntil: row.verifyUntil,
      });
    }
    this.cache.keys = loaded;
    this.cache.loadedAt = Date.now();
    return loaded;
  }

  private async privateKeyFor(key: LoadedKey): Promise<CryptoKey> {
    const cached = this.cache.privateKeys.get(key.kid);
    if (cached) return cached;
    const jwk = JSON.parse(await this.box.open(key.sealedPrivate, SEAL_PURPOSE)) as JWK;
    const privateKey = (await importJWK(jwk, ACCESS_TOKEN_ALG)) as CryptoKey;
    this.cache.privateKeys.set(key.kid, privateKey);
    return privateKey;
  }

  private async createKey(): Promise<LoadedKey> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, {
      crv: 'Ed25519',
      extractable: true,
    });
    const kid = newId('signingKey');
    const publicJwk = await exportJWK(publicKey);
    const sealedPrivate = await this.box.seal(JSON.stringify(await exportJWK(privateKey)), SEAL_PURPOSE);
    const now = this.clock.now();
    const signUntil = new Date(now.getTime() + this.options.rotateSeconds * 1000);
    // Tokens signed in the last moment of a key's life must still verify until they expire.
    const verifyUntil = new Date(signUntil.getTime() + (this.options.accessTokenTtlSeconds + 300) * 1000);
    await this.db.insert(signingKeys).values({
      kid,
      alg: ACCESS_TOKEN_ALG,
      publicJwk,
      privateJwkEncrypted: sealedPrivate,
      signUntil,
      verifyUntil,
      createdAt: now,
    });
    this.cache.privateKeys.set(kid, privateKey);
    return { kid, publicJwk, publicKey, sealedPrivate, signUntil, verifyUntil };
  }
}

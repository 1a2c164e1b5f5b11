import type { Organization, User } from '@keel/contract/auth';
import type { organizations, users } from '@keel/drizzle/schema';

/** The public shape of rows: never the password hash or internal flags. */
export function userView(u: typeof users.$inferSelect): User {
  return { id: u.id, email: u.email, name: u.name, createdAt: u.createdAt.toISOString() };
}

export function organizationView(o: typeof organizations.$inferSelect): Organization {
  return { id: o.id, name: o.name, createdAt: o.createdAt.toISOString() };
}

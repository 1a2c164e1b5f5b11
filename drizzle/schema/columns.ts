import { timestamp } from 'drizzle-orm/pg-core';

/** Timestamps are stored with time zone and read as Date objects. */
export const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

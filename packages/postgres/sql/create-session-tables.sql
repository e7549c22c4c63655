-- @x/session-postgres: the tables of postgresStore() and postgresRevocations().
-- Idempotent: safe to run on every deploy. Times are epoch milliseconds.

CREATE TABLE IF NOT EXISTS "public"."x_session" (
  "id" text COLLATE "C" PRIMARY KEY,
  "data" text NOT NULL,
  "created_at" bigint NOT NULL,
  "refreshed_at" bigint NOT NULL,
  "version" bigint NOT NULL,
  "user_id" text,
  "expires_at" bigint NOT NULL
);

-- listByUser / deleteByUser ("log out everywhere"): only bound sessions are indexed.
CREATE INDEX IF NOT EXISTS "x_session_user_idx" ON "public"."x_session" ("user_id") WHERE "user_id" IS NOT NULL;

-- The cleanup finds expired rows without scanning the table.
CREATE INDEX IF NOT EXISTS "x_session_expires_idx" ON "public"."x_session" ("expires_at");

CREATE TABLE IF NOT EXISTS "public"."x_session_revocation" (
  "subject" text PRIMARY KEY,
  "not_before" bigint NOT NULL,
  "expires_at" bigint NOT NULL
);

CREATE INDEX IF NOT EXISTS "x_session_revocation_expires_idx" ON "public"."x_session_revocation" ("expires_at");

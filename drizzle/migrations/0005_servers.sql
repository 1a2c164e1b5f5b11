CREATE TABLE "servers" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"labels" jsonb NOT NULL,
	"region" text,
	"capacity" jsonb NOT NULL,
	"storage" jsonb NOT NULL,
	"assignment" jsonb,
	"endpoint" jsonb NOT NULL,
	"credential_sealed" text NOT NULL,
	"credential_fingerprint" text NOT NULL,
	"credential_updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"offered_host_key" text,
	"status" text DEFAULT 'new' NOT NULL,
	"last_test" jsonb,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "server_id" text;--> statement-breakpoint
ALTER TABLE "servers" ADD CONSTRAINT "servers_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "servers" ADD CONSTRAINT "servers_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "servers_org_name_key" ON "servers" USING btree ("organization_id","name");--> statement-breakpoint
CREATE INDEX "servers_org_idx" ON "servers" USING btree ("organization_id");--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE set null ON UPDATE no action;
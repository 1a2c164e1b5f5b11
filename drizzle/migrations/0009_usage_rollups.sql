CREATE TABLE "usage_daily" (
	"workspace_id" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"organization_id" text NOT NULL,
	"user_id" text NOT NULL,
	"cpu_seconds" double precision DEFAULT 0 NOT NULL,
	"memory_byte_seconds" double precision DEFAULT 0 NOT NULL,
	"storage_byte_seconds" double precision DEFAULT 0 NOT NULL,
	"peak_storage_bytes" bigint DEFAULT 0 NOT NULL,
	"running_seconds" bigint DEFAULT 0 NOT NULL,
	"commands" bigint DEFAULT 0 NOT NULL,
	"ai_calls" bigint DEFAULT 0 NOT NULL,
	"ai_prompt_tokens" bigint DEFAULT 0 NOT NULL,
	"ai_completion_tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_workspace_id_bucket_start_pk" PRIMARY KEY("workspace_id","bucket_start")
);
--> statement-breakpoint
CREATE TABLE "usage_hourly" (
	"workspace_id" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"organization_id" text NOT NULL,
	"user_id" text NOT NULL,
	"cpu_seconds" double precision DEFAULT 0 NOT NULL,
	"memory_byte_seconds" double precision DEFAULT 0 NOT NULL,
	"storage_byte_seconds" double precision DEFAULT 0 NOT NULL,
	"peak_storage_bytes" bigint DEFAULT 0 NOT NULL,
	"running_seconds" bigint DEFAULT 0 NOT NULL,
	"commands" bigint DEFAULT 0 NOT NULL,
	"ai_calls" bigint DEFAULT 0 NOT NULL,
	"ai_prompt_tokens" bigint DEFAULT 0 NOT NULL,
	"ai_completion_tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_hourly_workspace_id_bucket_start_pk" PRIMARY KEY("workspace_id","bucket_start")
);
--> statement-breakpoint
CREATE INDEX "usage_daily_org_bucket_idx" ON "usage_daily" USING btree ("organization_id","bucket_start");--> statement-breakpoint
CREATE INDEX "usage_daily_user_bucket_idx" ON "usage_daily" USING btree ("user_id","bucket_start");--> statement-breakpoint
CREATE INDEX "usage_hourly_org_bucket_idx" ON "usage_hourly" USING btree ("organization_id","bucket_start");--> statement-breakpoint
CREATE INDEX "usage_hourly_user_bucket_idx" ON "usage_hourly" USING btree ("user_id","bucket_start");
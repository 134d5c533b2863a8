import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /flows/{id}/stats` in 1h and 1d buckets (src/flows/flow-stats.service.ts): one row per flow and
 * settled hour, written the first time the hour is asked for. `durations` is a histogram of the hour's
 * succeeded and failed runs (src/flows/flow-stats-histogram.ts: bin → count), so hours add up to days.
 * The rows outlive the executions' retention, and go with their flow.
 */
export class FlowStatsHours1764000002610 implements MigrationInterface {
  name = 'FlowStatsHours1764000002610';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE flow_stats_hours (
         flow_id uuid NOT NULL,
         hour timestamptz NOT NULL,
         succeeded int NOT NULL DEFAULT 0,
         failed int NOT NULL DEFAULT 0,
         filtered int NOT NULL DEFAULT 0,
         cancelled int NOT NULL DEFAULT 0,
         durations jsonb NOT NULL DEFAULT '{}',
         CONSTRAINT flow_stats_hours_pkey PRIMARY KEY (flow_id, hour),
         CONSTRAINT flow_stats_hours_flow_id_fkey FOREIGN KEY (flow_id) REFERENCES flows(id) ON DELETE CASCADE)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE flow_stats_hours`);
  }
}

/**
 * DealStageMemory in the embedded store: the table `deal_stages`, one row per deal. SQLite
 * serialises writers and the read and the write run in one transaction of the store's commit
 * group, so an observation is atomic and durable when it resolves.
 */
import type {
  DealStageMemory,
  RememberedStage,
  StageObservation,
} from '../../../ports/deal-stage-memory';
import type { CommitGroup } from './commit-group';
import type { SqliteDatabase } from './open-sqlite-database';

interface Row {
  pipeline_id: string | null;
  stage_id: string;
  previous_pipeline_id: string | null;
  previous_stage_id: string | null;
  observer: string;
}

const stageOf = (pipelineId: string | null, stageId: string | null): RememberedStage | null =>
  stageId === null ? null : { pipelineId, stageId };

export class SqliteDealStages implements DealStageMemory {
  private readonly read;
  private readonly write;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
  ) {
    this.read = db.prepare(
      `SELECT pipeline_id, stage_id, previous_pipeline_id, previous_stage_id, observer
         FROM deal_stages WHERE key = ?`,
    );
    this.write = db.prepare(
      `INSERT INTO deal_stages (key, pipeline_id, stage_id, previous_pipeline_id, previous_stage_id, observer, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET pipeline_id = excluded.pipeline_id, stage_id = excluded.stage_id,
         previous_pipeline_id = excluded.previous_pipeline_id,
         previous_stage_id = excluded.previous_stage_id, observer = excluded.observer,
         updated_at = excluded.updated_at`,
    );
  }

  observe(
    key: string,
    stage: RememberedStage,
    observer: string,
    nowMs: number,
  ): Promise<StageObservation> {
    return this.group.run((): StageObservation => {
      const row = this.read.get(key) as Row | undefined;
      if (row !== undefined && row.stage_id === stage.stageId) {
        if (row.observer === observer) {
          return {
            changed: true,
            previous: stageOf(row.previous_pipeline_id, row.previous_stage_id),
          };
        }
        return { changed: false, previous: { pipelineId: row.pipeline_id, stageId: row.stage_id } };
      }
      const previous = row === undefined ? null : stageOf(row.pipeline_id, row.stage_id);
      this.write.run(
        key,
        stage.pipelineId,
        stage.stageId,
        previous?.pipelineId ?? null,
        previous?.stageId ?? null,
        observer,
        nowMs,
      );
      return { changed: true, previous };
    });
  }

  get(key: string): Promise<RememberedStage | null> {
    const row = this.read.get(key) as Row | undefined;
    return Promise.resolve(row === undefined ? null : stageOf(row.pipeline_id, row.stage_id));
  }
}

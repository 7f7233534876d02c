/**
 * DealStageMemory in Redis, shared by every process on the same Redis and prefix: one hash per
 * deal, `<prefix>deal-stage:<key>` → { pipeline, stage, previous_pipeline, previous_stage,
 * observer, at }, with no TTL. An observation is one Lua script, so of two processes observing
 * the same new stage exactly one sees the change.
 */
import type { Redis } from 'ioredis';
import type {
  DealStageMemory,
  RememberedStage,
  StageObservation,
} from '../../../ports/deal-stage-memory';
import { LuaScript } from './lua-script';

/**
 * KEYS: the deal's hash. ARGV: pipeline ('' for none), stage, observer, nowMs.
 * Returns { 'changed' | 'unchanged', pipeline, stage } where the stage pair is the previous one
 * for a change and the remembered one otherwise ('' for none).
 */
const OBSERVE = new LuaScript(`
local row = redis.call('HMGET', KEYS[1], 'pipeline', 'stage', 'previous_pipeline', 'previous_stage', 'observer')
if row[2] and row[2] == ARGV[2] then
  if row[5] == ARGV[3] then return { 'changed', row[3] or '', row[4] or '' } end
  return { 'unchanged', row[1] or '', row[2] }
end
redis.call('HSET', KEYS[1], 'pipeline', ARGV[1], 'stage', ARGV[2],
  'previous_pipeline', row[1] or '', 'previous_stage', row[2] or '', 'observer', ARGV[3], 'at', ARGV[4])
return { 'changed', row[1] or '', row[2] or '' }
`);

const stageOf = (pipeline: string, stage: string): RememberedStage | null =>
  stage === '' ? null : { pipelineId: pipeline === '' ? null : pipeline, stageId: stage };

export class RedisDealStages implements DealStageMemory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'closeloop:',
  ) {}

  async observe(
    key: string,
    stage: RememberedStage,
    observer: string,
    nowMs: number,
  ): Promise<StageObservation> {
    const [answer, pipeline, stageId] = (await OBSERVE.run(
      this.redis,
      [this.keyOf(key)],
      [stage.pipelineId ?? '', stage.stageId, observer, String(nowMs)],
    )) as [string, string, string];
    const known = stageOf(pipeline, stageId);
    if (answer === 'unchanged' && known !== null) return { changed: false, previous: known };
    return { changed: true, previous: known };
  }

  async get(key: string): Promise<RememberedStage | null> {
    const [pipeline, stage] = await this.redis.hmget(this.keyOf(key), 'pipeline', 'stage');
    return stageOf(pipeline ?? '', stage ?? '');
  }

  private keyOf(key: string): string {
    return `${this.prefix}deal-stage:${key}`;
  }
}

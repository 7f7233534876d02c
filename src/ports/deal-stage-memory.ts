/**
 * DealStageMemory: each deal's last known stage, so that a CRM whose webhooks say only "the deal
 * changed" (Bitrix24 fires ONCRMDEALUPDATE on every edit, often several times per move; research
 * bitrix24.md §1.5) fires rules on real stage moves only, and a repeated update of a won deal
 * sends nothing again.
 *
 * Contract (test/contract/deal-stage-memory.contract.ts runs it on every store):
 * - `observe(key, stage, observer)` is atomic per key across every process sharing the store. It
 *   compares `stage` with the one remembered: a different one (or none yet) is a change, which it
 *   remembers with `observer` and answers `changed` with the stage before (null: none was known);
 *   the same one is `unchanged`, and nothing is written.
 * - An observer sees its own change again: a job that observed a change and died before it
 *   finished (a crash, a retry) gets the same `changed` answer, with the same previous stage, when
 *   it runs again with the same observer (its job id) and stage. So a crash between remembering
 *   and sending never turns a move into an edit.
 * - `get(key)` reads the remembered stage without changing it (null: none).
 * - Durable when the promise resolves. Keys are opaque; entries are small and are never expired
 *   (one per deal).
 *
 * Out of scope: ordering (two observers racing with two stages both see a change, in the order the
 * store serialised them), what a stage means (the outcome is the CRM adapter's).
 */

export interface RememberedStage {
  pipelineId: string | null;
  stageId: string;
}

export type StageObservation =
  | { changed: true; previous: RememberedStage | null }
  | { changed: false; previous: RememberedStage };

export interface DealStageMemory {
  observe(
    key: string,
    stage: RememberedStage,
    observer: string,
    nowMs: number,
  ): Promise<StageObservation>;
  get(key: string): Promise<RememberedStage | null>;
}

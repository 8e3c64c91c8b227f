import { ulidFloor } from '../../contract/ids.js';
import type { TaskListQuery } from '../task-queue-store.js';

/**
 * How far a task id's time may stand from its `created_at`. New ids are made from the very clock
 * reading of `created_at` (TaskService.submit); ids of earlier versions came from a second reading
 * a moment later. The id bound only narrows the index range; `created_at` decides.
 */
const ID_TIME_SLACK_MS = 60_000;

/**
 * The filters of `GET /v1/tasks` as `column operator` and value, the same on both stores. A created
 * range becomes a range of ids too (task ids are ULIDs: id order is time order), so the scan stays
 * on the index tasks (account_id, id) however old the range is.
 */
export function taskListFilters(q: TaskListQuery): Array<[condition: string, value: unknown]> {
  const filters: Array<[string, unknown]> = [];
  if (q.status) filters.push(['status =', q.status]);
  if (q.model) filters.push(['model =', q.model]);
  if (q.after) filters.push([q.order === 'asc' ? 'id >' : 'id <', q.after]);
  if (q.createdFrom !== undefined) {
    filters.push(['id >=', `task_${ulidFloor(q.createdFrom - ID_TIME_SLACK_MS)}`]);
    filters.push(['created_at >=', q.createdFrom]);
  }
  if (q.createdUntil !== undefined) {
    filters.push(['id <', `task_${ulidFloor(q.createdUntil + ID_TIME_SLACK_MS)}`]);
    filters.push(['created_at <', q.createdUntil]);
  }
  return filters;
}

import { z } from 'zod';

/** README: Assets: the asset-review task as GET /v1/tasks/{id} shows it. */
export const AssetTaskObject = z
  .object({
    id: z.string(),
    object: z.literal('seedance.avatar.asset.task'),
    model: z.literal('doubao-seedance-2.0'),
    status: z.enum(['pending', 'processing', 'completed', 'failed']),
    progress: z.number().int(),
    created: z.number().int(),
    completed: z.number().int().optional(),
    group_id: z.string(),
    result: z
      .object({
        usable_assets: z.array(z.object({ asset_id: z.string(), asset_url: z.string(), name: z.string(), status: z.string() })),
        failed_assets: z.array(z.object({ asset_id: z.string(), asset_url: z.string(), name: z.string(), status: z.string(), reason: z.string() })),
      })
      .optional(),
    error: z.object({ code: z.string(), message: z.string(), type: z.string() }).optional(),
  })
  .meta({ id: 'AssetTask' });
export type AssetTaskObject = z.infer<typeof AssetTaskObject>;

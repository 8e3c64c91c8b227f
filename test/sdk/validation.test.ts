import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../src/contract/invalid-request.js';
import { SubmitBody, checkSubmitRules } from '../../src/contract/submit.js';
import { createClient, validateGenerateParams, VidgateValidationError, type GenerateParams } from '../../src/sdk/index.js';
import { tinyServer } from './helpers.js';

const ok = (p: Partial<GenerateParams> & Record<string, unknown>) => ({ model: 'doubao-seedance-2.0', prompt: 'a cat', ...p }) as GenerateParams;
const img = (n: number) => Array.from({ length: n }, (_, i) => `https://example.com/${i}.jpg`);

/** [case, params, the param named by the error or null when valid] */
const CASES: Array<[string, GenerateParams, string | null]> = [
  ['text to video', ok({}), null],
  ['the seed example', ok({ resolution: '720p', size: '16:9', duration: 5, generate_audio: true }), null],
  ['alias model', ok({ model: 'seedance-2.0-fast' as never, resolution: '480p' }), null],
  ['unknown model', ok({ model: 'sora' as never }), 'model'],
  ['missing model', { prompt: 'x' } as GenerateParams, 'model'],
  ['no prompt, no media', ok({ prompt: undefined }), 'prompt'],
  ['blank prompt', ok({ prompt: '   ' }), 'prompt'],
  ['no prompt with an image', ok({ prompt: undefined, image_urls: img(1) }), null],
  ['no prompt with a video', ok({ prompt: undefined, video_urls: ['https://example.com/v.mp4'] }), null],
  ['prompt of 4000 characters (astral)', ok({ prompt: '😀'.repeat(4000) }), null],
  ['prompt of 4001 characters', ok({ prompt: 'a'.repeat(4001) }), 'prompt'],
  ['mini has no prompt limit', ok({ model: 'doubao-seedance-2.0-mini', prompt: 'a'.repeat(5000) }), null],
  ['prompt not a string', ok({ prompt: 42 as never }), 'prompt'],
  ['duration 3', ok({ duration: 3 }), 'duration'],
  ['duration 16', ok({ duration: 16 }), 'duration'],
  ['duration 4.5', ok({ duration: 4.5 }), 'duration'],
  ['duration as string', ok({ duration: '5' as never }), 'duration'],
  ['duration 15', ok({ duration: 15 }), null],
  ['size adaptive', ok({ size: 'adaptive' }), null],
  ['size 2:1', ok({ size: '2:1' as never }), 'size'],
  ['4k on the standard model', ok({ resolution: '4k' }), null],
  ['1080p on fast', ok({ model: 'doubao-seedance-2.0-fast', resolution: '1080p' }), 'resolution'],
  ['4k on face', ok({ model: 'doubao-seedance-2.0-face', resolution: '4k' }), 'resolution'],
  ['1080p on face', ok({ model: 'doubao-seedance-2.0-face', resolution: '1080p' }), null],
  ['upper-case 720P', ok({ resolution: '720P' as never }), null],
  ['seed -1', ok({ seed: -1 }), null],
  ['seed max', ok({ seed: 4_294_967_295 }), null],
  ['seed -2', ok({ seed: -2 }), 'seed'],
  ['seed too large', ok({ seed: 4_294_967_296 }), 'seed'],
  ['generate_audio as string', ok({ generate_audio: 'yes' as never }), 'generate_audio'],
  ['return_last_frame as number', ok({ return_last_frame: 1 as never }), 'return_last_frame'],
  ['tools web_search', ok({ tools: [{ type: 'web_search' }] }), null],
  ['tools other', ok({ tools: [{ type: 'code' as never }] }), 'tools'],
  ['9 images', ok({ image_urls: img(9) }), null],
  ['10 images', ok({ image_urls: img(10) }), 'image_urls'],
  ['image not a URL', ok({ image_urls: ['cat.jpg'] }), 'image_urls[0]'],
  ['ftp image', ok({ image_urls: ['ftp://example.com/a.jpg'] }), 'image_urls[0]'],
  ['image with credentials', ok({ image_urls: ['https://u:p@example.com/a.jpg'] }), 'image_urls[0]'],
  ['asset on standard', ok({ image_urls: ['asset://asset_a'] }), null],
  ['asset on fast', ok({ model: 'doubao-seedance-2.0-fast', image_urls: ['asset://asset_a'] }), null],
  ['asset on face', ok({ model: 'doubao-seedance-2.0-face', image_urls: ['asset://asset_a'] }), 'image_urls[0]'],
  ['asset on mini, second video', ok({ model: 'doubao-seedance-2.0-mini', video_urls: ['https://example.com/v.mp4', 'asset://x'] }), 'video_urls[1]'],
  ['malformed asset', ok({ image_urls: ['asset://a b'] }), 'image_urls[0]'],
  ['image_urls with image_with_roles', ok({ image_urls: img(1), image_with_roles: [{ url: img(1)[0]!, role: 'first_frame' }] }), 'image_with_roles'],
  [
    'first and last frame',
    ok({
      image_with_roles: [
        { url: img(1)[0]!, role: 'first_frame' },
        { url: img(2)[1]!, role: 'last_frame' },
      ],
    }),
    null,
  ],
  ['last frame alone', ok({ image_with_roles: [{ url: img(1)[0]!, role: 'last_frame' }] }), 'image_with_roles'],
  [
    'two first frames',
    ok({
      image_with_roles: [
        { url: img(1)[0]!, role: 'first_frame' },
        { url: img(2)[1]!, role: 'first_frame' },
      ],
    }),
    'image_with_roles',
  ],
  ['bad role', ok({ image_with_roles: [{ url: img(1)[0]!, role: 'cover' as never }] }), 'image_with_roles[0].role'],
  [
    'first frame with reference image',
    ok({
      image_with_roles: [
        { url: img(1)[0]!, role: 'first_frame' },
        { url: img(2)[1]!, role: 'reference_image' },
      ],
    }),
    'image_with_roles',
  ],
  ['first frame with video', ok({ image_with_roles: [{ url: img(1)[0]!, role: 'first_frame' }], video_urls: ['https://example.com/v.mp4'] }), 'video_urls'],
  ['first frame with audio', ok({ image_with_roles: [{ url: img(1)[0]!, role: 'first_frame' }], audio_urls: ['https://example.com/a.mp3'] }), 'audio_urls'],
  ['4 videos', ok({ video_urls: ['https://e.com/1.mp4', 'https://e.com/2.mp4', 'https://e.com/3.mp4', 'https://e.com/4.mp4'] }), 'video_urls'],
  ['audio alone', ok({ audio_urls: ['https://example.com/a.mp3'] }), 'audio_urls'],
  ['audio with one (first-frame) image', ok({ image_urls: img(1), audio_urls: ['https://example.com/a.mp3'] }), null],
  ['audio with a video', ok({ video_urls: ['https://example.com/v.mp4'], audio_urls: ['https://example.com/a.mp3'] }), null],
  ['case 9: images, video, audio', ok({ image_urls: img(2), video_urls: ['https://e.com/v.mp4'], audio_urls: ['https://e.com/a.mp3'] }), null],
  [
    '13 references',
    ok({ image_urls: img(9), video_urls: ['https://e.com/1.mp4', 'https://e.com/2.mp4'], audio_urls: ['https://e.com/a.mp3', 'https://e.com/b.mp3'] }),
    'image_urls',
  ],
  ['image_urls not an array', ok({ image_urls: 'https://example.com/a.jpg' as never }), 'image_urls'],
];

/** What the server's own rules say about the same body (schema, then checkSubmitRules). */
function serverVerdict(params: GenerateParams): string | null {
  const parsed = SubmitBody.safeParse(params);
  if (!parsed.success) {
    const path = parsed.error.issues[0]!.path;
    return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
  }
  try {
    checkSubmitRules(parsed.data);
    return null;
  } catch (err) {
    if (err instanceof InvalidRequest) return err.param ?? '';
    throw err;
  }
}

describe('client-side submit checks (README: Submit rules)', () => {
  it.each(CASES)('%s', (_name, params, param) => {
    if (param === null) {
      expect(() => validateGenerateParams(params)).not.toThrow();
      return;
    }
    const err = (() => {
      try {
        validateGenerateParams(params);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(VidgateValidationError);
    expect(err).toMatchObject({ param, status: 400, type: 'invalid_request_error' });
    expect((err as Error).message.length).toBeGreaterThan(10);
  });

  it('agrees with the server on which bodies pass', () => {
    for (const [name, params, param] of CASES) {
      const server = serverVerdict(params);
      expect({ name, valid: server === null }).toEqual({ name, valid: param === null });
    }
  });

  it('nothing is sent when a check fails', async () => {
    const server = await tinyServer((_req, res) => void res.writeHead(500).end());
    try {
      const client = createClient({ baseURL: server.url, apiKey: 'k' });
      await expect(client.videos.generate(ok({ duration: 99 }))).rejects.toMatchObject({ param: 'duration' });
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('the SDK imports nothing outside src/sdk but Node built-ins', async () => {
    const dir = fileURLToPath(new URL('../../src/sdk/', import.meta.url));
    let imports = 0;
    for (const file of await readdir(dir)) {
      const source = await readFile(dir + file, 'utf8');
      for (const [, from, dynamic] of source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/gm)) {
        const spec = from ?? dynamic ?? '';
        imports++;
        expect({ file, spec, ok: spec.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(spec) }).toEqual({ file, spec, ok: true });
      }
    }
    expect(imports).toBeGreaterThan(15);
  });
});

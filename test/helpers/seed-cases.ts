/**
 * The 13 "Use Cases" of the seed (seed/seedance-2.0-generation.md), each body exactly as written
 * there. Tests swap `https://example.com/<file>` for a fixture server serving the same file names.
 */
/** The fields of a completed task's object (README: API), written out so that a missing or extra field fails. */
export const COMPLETED_TASK_FIELDS = ['actual_time', 'completed', 'cost', 'created', 'credits_cost', 'estimated_time', 'id', 'progress', 'result', 'status'];

export const SEED_CASES: Record<number, Record<string, unknown>> = {
  1: {
    model: 'doubao-seedance-2.0',
    prompt: 'A kitten yawning at the camera',
    resolution: '720p',
    size: '16:9',
    duration: 5,
    seed: 42,
    generate_audio: true,
  },
  2: {
    model: 'doubao-seedance-2.0',
    prompt: 'The kitten stands up and walks toward the camera',
    image_urls: ['https://example.com/cat.jpg'],
    duration: 5,
  },
  3: {
    model: 'doubao-seedance-2.0',
    prompt: 'Transition from day to night',
    image_with_roles: [
      { url: 'https://example.com/day.jpg', role: 'first_frame' },
      { url: 'https://example.com/night.jpg', role: 'last_frame' },
    ],
    duration: 5,
  },
  4: {
    model: 'doubao-seedance-2.0',
    prompt: 'Convert the video style to anime style',
    video_urls: ['https://example.com/reference.mp4'],
  },
  5: {
    model: 'doubao-seedance-2.0',
    prompt: 'A scene of a person speaking',
    video_urls: ['https://example.com/reference.mp4'],
    audio_urls: ['https://example.com/speech.wav'],
    size: '16:9',
    duration: 11,
  },
  6: {
    model: 'doubao-seedance-2.0',
    prompt: 'A man stops a woman and says: "Remember, you must never point your finger at the moon."',
    generate_audio: true,
  },
  7: {
    model: 'doubao-seedance-2.0',
    prompt: 'The kitten continues walking toward the camera',
    image_urls: ['https://example.com/last_frame_from_prev.png'],
    return_last_frame: true,
  },
  8: {
    model: 'doubao-seedance-2.0-fast',
    prompt: 'City nightscape timelapse photography',
    size: '21:9',
    duration: 8,
  },
  9: {
    model: 'doubao-seedance-2.0',
    prompt:
      "Use video 1's first-person perspective throughout, and use audio 1 as the background music throughout. First-person POV fruit tea advertisement for seedance brand 'Peace Apple' apple fruit tea limited edition. First frame is image 1: your hand picks a dewy Aksu red apple with a crisp apple collision sound. 2-4s: quick cut, your hand drops apple chunks into a shaker cup, adds ice and tea base, shakes vigorously, ice collision and shaking sounds sync with upbeat drum beats, background voice: 'Fresh-cut, fresh-shaken'. 4-6s: first-person close-up of the finished product, layered fruit tea poured into a clear cup, your hand gently squeezes cream cap spreading on top, sticks a pink label on the cup, camera zooms in on the layered texture of cream cap and fruit tea. 6-8s: first-person handheld cup raise, you lift the fruit tea from image 2 toward the camera (simulating handing it to the viewer), cup label clearly visible, background voice 'Take a sip of freshness', final frame freezes on image 2. Background voice consistently uses a female tone.",
    image_urls: ['https://example.com/tea_pic1.jpg', 'https://example.com/tea_pic2.jpg'],
    video_urls: ['https://example.com/tea_video1.mp4'],
    audio_urls: ['https://example.com/tea_audio1.mp3'],
    generate_audio: true,
    size: '16:9',
    duration: 11,
  },
  10: {
    model: 'doubao-seedance-2.0',
    prompt: 'The character walks naturally on a city street under bright sunshine',
    image_urls: ['asset://asset_a'],
    duration: 5,
    resolution: '720p',
  },
  11: {
    model: 'doubao-seedance-2.0',
    prompt: 'Using the reference portrait, the character walks elegantly toward the camera',
    image_with_roles: [{ url: 'asset://asset_a', role: 'reference_image' }],
    resolution: '720p',
    duration: 5,
  },
  12: {
    model: 'doubao-seedance-2.0-fast',
    prompt: 'The character strolls in a park with a gentle breeze',
    image_urls: ['asset://asset_a'],
    duration: 5,
    resolution: '720p',
  },
  13: {
    model: 'doubao-seedance-2.0',
    prompt: 'The character dances to the rhythm of the reference video with smooth and natural movements',
    image_urls: ['https://example.com/dance_reference.jpg', 'asset://asset_a'],
    video_urls: ['https://example.com/dance_reference.mp4', 'asset://asset_a'],
    duration: 8,
    resolution: '720p',
  },
};

/** A seed case with its example.com media served from `baseUrl` instead. */
export function seedCase(n: number, baseUrl: string): Record<string, unknown> {
  if (!SEED_CASES[n]) throw new Error(`no seed case ${n}`);
  return JSON.parse(JSON.stringify(SEED_CASES[n]).replaceAll('https://example.com/', `${baseUrl}/`)) as Record<string, unknown>;
}

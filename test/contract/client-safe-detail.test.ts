import { describe, expect, it } from 'vitest';
import { clientSafeDetail } from '../../src/contract/failures.js';

/** What a failed task tells its client about an unexpected error: no local paths, no tool output. */
describe('clientSafeDetail', () => {
  it.each([
    ["ENOENT: no such file or directory, open '/var/lib/vidgate/work/task_01/speech.wav'", "ENOENT: no such file or directory, open '…'"],
    ['failed to start ffmpeg at /usr/local/bin/ffmpeg: spawn E2BIG', 'failed to start ffmpeg at …: spawn E2BIG'],
    ['cannot read data/media/3f2a.png now', 'cannot read … now'],
    ['file:/tmp/vidgate-x/in.png: Invalid data found', '…: Invalid data found'],
    ['espeak-ng failed: cannot write\n/tmp/x/speech.wav: permission denied', 'espeak-ng failed: cannot write'],
  ])('takes local paths and later lines out of %j', (message, expected) => {
    expect(clientSafeDetail(message)).toBe(expected);
  });

  it('keeps what is not a local path', () => {
    expect(clientSafeDetail('broken graph')).toBe('broken graph');
    expect(clientSafeDetail('the upstream answered https://example.com/v1/tasks/abc with 500')).toBe(
      'the upstream answered https://example.com/v1/tasks/abc with 500',
    );
    expect(clientSafeDetail('expected image/png')).toBe('expected image/png');
  });

  it('cuts long messages and never answers nothing', () => {
    expect(clientSafeDetail('x'.repeat(1000))).toBe(`${'x'.repeat(300)}…`);
    expect(clientSafeDetail('\nonly later lines')).toBe('an unexpected error');
  });
});

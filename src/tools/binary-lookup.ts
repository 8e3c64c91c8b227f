import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where an external program was found. */
export type BinarySource = 'env' | 'path' | 'npm';

/**
 * Finds an external program the way every one of ours is found: the setting, else the PATH, else
 * the build shipped in an npm package, each accepted only when `check` says it runs (and what it
 * found, e.g. a version). An explicit setting that does not work is a configuration error, not a
 * hint to fall back.
 */
export async function locateBinary<T>(o: {
  name: string;
  /** The setting's name and value, e.g. VIDGATE_FFMPEG. */
  setting: string;
  configured: string | undefined;
  searchPath: string;
  npmPackage: string;
  check: (file: string) => Promise<T | null>;
}): Promise<{ path: string; source: BinarySource; found: T }> {
  if (o.configured) {
    const found = await o.check(o.configured);
    if (found === null) throw new Error(`${o.setting}=${o.configured} is not a runnable ${o.name} binary`);
    return { path: o.configured, source: 'env', found };
  }
  const onPath = await findOnPath(o.name, o.searchPath);
  const fromPath = onPath ? await o.check(onPath) : null;
  if (onPath && fromPath !== null) return { path: onPath, source: 'path', found: fromPath };
  const bundled = npmBinaryPath(o.npmPackage);
  const fromNpm = bundled ? await o.check(bundled) : null;
  if (bundled && fromNpm !== null) return { path: bundled, source: 'npm', found: fromNpm };
  throw new Error(`${o.name} not found: set ${o.setting}, put ${o.name} on PATH, or install ${o.npmPackage} for this platform`);
}

export async function findOnPath(name: string, searchPath = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary an installer package (@ffmpeg-installer/…) ships for this platform, if any. */
function npmBinaryPath(pkg: string): string | null {
  try {
    const installer = createRequire(import.meta.url)(pkg) as { path?: unknown };
    return typeof installer.path === 'string' ? installer.path : null;
  } catch {
    // The installer throws when no binary package exists for this platform.
    return null;
  }
}

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Debian's fonts-dejavu-core: the whole of DejaVu Sans (Latin, Greek, Cyrillic, Armenian, …). */
export const SYSTEM_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** The same face from the @fontsource/dejavu-sans dependency, which ships its Latin subset only. */
const PACKAGED_FONT = '@fontsource/dejavu-sans/files/dejavu-sans-latin-400-normal.woff';

export type FontChoice = { fontfile: string } | { font: string };

/**
 * The caption font: the system's DejaVu Sans when installed, since it draws more scripts, else the
 * one shipped with the project's dependencies, so captions are drawn whatever the machine has.
 * fontconfig's "Sans" is left for an install whose node_modules lost the font package.
 */
export function fontChoice(systemFontFile = SYSTEM_FONT_FILE): FontChoice {
  if (existsSync(systemFontFile)) return { fontfile: systemFontFile };
  const packaged = packagedFontFile();
  return packaged ? { fontfile: packaged } : { font: 'Sans' };
}

export function packagedFontFile(): string | null {
  try {
    return createRequire(import.meta.url).resolve(PACKAGED_FONT);
  } catch {
    return null;
  }
}
